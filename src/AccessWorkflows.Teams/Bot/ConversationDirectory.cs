using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;
using AccessWorkflows.Teams.Connector;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AccessWorkflows.Teams.Bot;

/// <summary>
/// Conversation references (SPEC 10): where the bot can post proactively, learned from installation and
/// conversation updates and from every verified user activity. Keys: <c>channel:&lt;conversation id&gt;</c>,
/// <c>user:&lt;aadObjectId&gt;</c>, <c>email:&lt;email&gt;</c> (the last two hold the same user reference).
/// </summary>
internal sealed class ConversationDirectory
{
    private const int MaxMembersPerActivity = 50;
    private const int MaxCachedIdentities = 10_000;
    private readonly IConversationStore _store;
    private readonly IBotConnector _connector;
    private readonly TeamsOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ConversationDirectory> _logger;

    // Who a Teams user id is in a conversation, as the member lookup last said: a click is answered without waiting
    // for the Bot Connector again. Bounded, and only successful look-ups are kept.
    private readonly ConcurrentDictionary<string, (string Email, DateTimeOffset Until)> _identities = new(StringComparer.Ordinal);

    public ConversationDirectory(IConversationStore store, IBotConnector connector, IOptions<TeamsOptions> options, TimeProvider time, ILogger<ConversationDirectory> logger)
    {
        _store = store;
        _connector = connector;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public static string ChannelKey(string conversationId) => "channel:" + conversationId;

    public static string EmailKey(string email) => "email:" + Grammar.NormalizeEmail(email);

    public async Task<ConversationRef?> GetAsync(string key, CancellationToken cancellationToken) =>
        ConversationRef.FromJson(await _store.GetAsync(key, cancellationToken));

    /// <summary>Records what a <c>conversationUpdate</c> or <c>installationUpdate</c> tells: the team's channels, the
    /// personal chat, the members added.</summary>
    public async Task LearnAsync(Activity a, CancellationToken cancellationToken)
    {
        if (a.ServiceUrl is null || a.BaseConversationId is null || a.Action == "remove")
        {
            return;
        }

        var conversationType = a.Conversation?.ConversationType;
        if (conversationType == "channel" || a.TeamId is not null)
        {
            await SaveChannelAsync(a, a.BaseConversationId, cancellationToken);
            if (a.TeamsChannelId is { } channelId)
            {
                await SaveChannelAsync(a, channelId, cancellationToken);
            }

            if (a.TeamId is { } teamId)
            {
                await SaveChannelAsync(a, teamId, cancellationToken);
                await LearnTeamChannelsAsync(a, teamId, cancellationToken);
            }
        }
        else if (conversationType == "personal" && a.From?.Id is { } userId)
        {
            await LearnUserAsync(a, userId, a.From.AadObjectId, personalConversationId: a.BaseConversationId, cancellationToken);
        }

        foreach (var member in (a.MembersAdded ?? []).OfType<ChannelAccount>().Where(m => m.Id is not null && m.Id != a.Recipient?.Id).Take(MaxMembersPerActivity))
        {
            await LearnUserAsync(a, member.Id!, member.AadObjectId, conversationType == "personal" ? a.BaseConversationId : null, cancellationToken);
        }
    }

    /// <summary>
    /// The verified email of the user who sent <paramref name="a"/>, from the conversation member lookup (never from
    /// anything the client put in the activity); null when Teams does not know them. Remembers the user on the way.
    /// </summary>
    public async Task<string?> IdentifyAsync(Activity a, CancellationToken cancellationToken)
    {
        // The member lookup needs the conversation: an activity without one names nobody.
        if (a.From?.Id is not { } userId || a.ServiceUrl is null || a.BaseConversationId is null)
        {
            return null;
        }

        var key = $"{a.ServiceUrl}|{a.BaseConversationId}|{userId}";
        var now = _time.GetUtcNow();
        if (_identities.TryGetValue(key, out var known) && known.Until > now)
        {
            return known.Email;
        }

        var personal = a.Conversation?.ConversationType == "personal" ? a.BaseConversationId : null;
        var email = await LearnUserAsync(a, userId, a.From.AadObjectId, personal, cancellationToken);
        if (email is not null && _options.MemberCacheDuration > TimeSpan.Zero)
        {
            if (_identities.Count >= MaxCachedIdentities)
            {
                _identities.Clear();
            }

            _identities[key] = (email, now + _options.MemberCacheDuration);
        }

        return email;
    }

    /// <summary>A 1:1 chat with the user of this email: the stored one, or one created now (POST /v3/conversations).</summary>
    public async Task<(string ServiceUrl, string ConversationId)?> PersonalChatAsync(string email, CancellationToken cancellationToken)
    {
        var user = await GetAsync(EmailKey(email), cancellationToken);
        if (user is null)
        {
            return null;
        }

        if (user.ConversationId is { } existing)
        {
            return (user.ServiceUrl, existing);
        }

        if (user.UserId is null)
        {
            return null;
        }

        var parameters = new JsonObject
        {
            ["isGroup"] = false,
            ["bot"] = new JsonObject { ["id"] = user.BotId ?? "28:" + _options.AppId },
            ["members"] = new JsonArray(new JsonObject { ["id"] = user.UserId }),
            ["tenantId"] = user.TenantId ?? _options.TenantId,
            ["channelData"] = new JsonObject { ["tenant"] = new JsonObject { ["id"] = user.TenantId ?? _options.TenantId } },
        };
        var conversationId = await _connector.CreateConversationAsync(user.ServiceUrl, parameters, cancellationToken);
        var updated = user with { ConversationId = conversationId };
        await SaveUserAsync(updated, cancellationToken);
        return (updated.ServiceUrl, conversationId);
    }

    private async Task<string?> LearnUserAsync(Activity a, string userId, string? aadObjectId, string? personalConversationId, CancellationToken cancellationToken)
    {
        var member = await _connector.GetMemberAsync(a.ServiceUrl!, a.BaseConversationId!, userId, cancellationToken);
        var email = member?.Email ?? member?.UserPrincipalName;
        if (email is null || !Grammar.IsEmail(email))
        {
            return null;
        }

        email = Grammar.NormalizeEmail(email);
        var existing = await GetAsync(EmailKey(email), cancellationToken);
        var user = new ConversationRef(
            a.ServiceUrl!,
            // Keep a known personal chat: a channel activity must never turn into the user's DM target.
            personalConversationId ?? existing?.ConversationId,
            member!.TenantId ?? a.TenantId ?? existing?.TenantId,
            a.Recipient?.Id ?? existing?.BotId,
            member.Id ?? userId,
            member.AadObjectId ?? aadObjectId ?? existing?.AadObjectId,
            email);
        if (user != existing)
        {
            await SaveUserAsync(user, cancellationToken);
        }

        return email;
    }

    private async Task SaveUserAsync(ConversationRef user, CancellationToken cancellationToken)
    {
        var json = user.ToJson();
        await _store.SaveAsync(EmailKey(user.Email!), json, cancellationToken);
        if (user.AadObjectId is { } aad)
        {
            await _store.SaveAsync("user:" + aad, json, cancellationToken);
        }

        Log.ReferenceSaved(_logger, "user");
    }

    private async Task SaveChannelAsync(Activity a, string conversationId, CancellationToken cancellationToken)
    {
        var reference = new ConversationRef(a.ServiceUrl!, conversationId, a.TenantId, a.Recipient?.Id);
        await _store.SaveAsync(ChannelKey(conversationId), reference.ToJson(), cancellationToken);
        Log.ReferenceSaved(_logger, "channel");
    }

    /// <summary>Every channel of the team the bot was installed in (<c>GET /v3/teams/{teamId}/conversations</c>), so a rule
    /// can name any of them.</summary>
    private async Task LearnTeamChannelsAsync(Activity a, string teamId, CancellationToken cancellationToken)
    {
        try
        {
            var channels = await _connector.GetTeamChannelsAsync(a.ServiceUrl!, teamId, cancellationToken);
            foreach (var id in channels.Take(200))
            {
                await SaveChannelAsync(a, id, cancellationToken);
            }
        }
        catch (HttpRequestException)
        {
            // The channel the activity came from is saved already; the others follow when they speak.
        }
    }
}
