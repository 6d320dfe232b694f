using System.Collections.Concurrent;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Slack.Api;

/// <summary>
/// Slack user ↔ email, through <c>users.info</c> and <c>users.lookupByEmail</c>, cached briefly so a burst of clicks
/// or autocomplete keystrokes costs one look-up. The email of a clicking user always comes from here, never from a
/// payload.
/// </summary>
public sealed class SlackUserDirectory
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);
    private readonly ISlackApi _api;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, (string? Value, DateTimeOffset Until)> _emailByUser = new();
    private readonly ConcurrentDictionary<string, (string? Value, DateTimeOffset Until)> _userByEmail = new();

    public SlackUserDirectory(ISlackApi api, TimeProvider time)
    {
        _api = api;
        _time = time;
    }

    /// <summary>The lower-case email of a Slack user; null when Slack has none for them.</summary>
    public async Task<string?> EmailOfAsync(string userId, CancellationToken cancellationToken)
    {
        if (_emailByUser.TryGetValue(userId, out var hit) && hit.Until > _time.GetUtcNow())
        {
            return hit.Value;
        }

        var email = await _api.GetUserEmailAsync(userId, cancellationToken);
        email = Grammar.IsEmail(email) ? Grammar.NormalizeEmail(email!) : null;
        _emailByUser[userId] = (email, _time.GetUtcNow() + Ttl);
        return email;
    }

    /// <summary>The Slack user id of an email; null when nobody in the workspace has it.</summary>
    public async Task<string?> UserIdOfAsync(string email, CancellationToken cancellationToken)
    {
        if (_userByEmail.TryGetValue(email, out var hit) && hit.Until > _time.GetUtcNow())
        {
            return hit.Value;
        }

        var id = await _api.LookupUserIdByEmailAsync(email, cancellationToken);
        _userByEmail[email] = (id, _time.GetUtcNow() + Ttl);
        return id;
    }
}
