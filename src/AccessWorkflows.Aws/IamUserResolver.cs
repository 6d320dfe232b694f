using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using AccessWorkflows.Aws.Iam;
using AccessWorkflows.Grants;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Aws;

/// <summary>
/// Finds the IAM user of a person (SPEC 9): the user named after the email, or the user tagged
/// <c>tagKey=&lt;email&gt;</c>. The tag map of an account is cached (ListUsers + ListUserTags cost one call per user)
/// and reloaded when stale, or once early when an email is not in it (the user may have just been tagged). A user
/// outside the provisioner's scope (<see cref="AwsOptions.UserPath"/>, <see cref="AwsOptions.UserTag"/>) is refused
/// here, with the reason, rather than by IAM's AccessDenied half-way through a grant.
/// </summary>
public sealed partial class IamUserResolver
{
    /// <summary>A miss reloads the map only if it is at least this old, so unknown emails cannot hammer IAM.</summary>
    private static readonly TimeSpan MinReloadInterval = TimeSpan.FromSeconds(30);

    private readonly IIamClientFactory _clients;
    private readonly AwsOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, TagMap> _maps = new();

    public IamUserResolver(IIamClientFactory clients, AwsOptions options, TimeProvider time)
    {
        _clients = clients;
        _options = options;
        _time = time;
    }

    public async Task<string> ResolveAsync(AccountConfig account, string email, CancellationToken cancellationToken = default)
    {
        try
        {
            return await ResolveCoreAsync(account, email, cancellationToken);
        }
        catch (IamException ex) when (!ex.IsTransient)
        {
            throw new PermanentProvisioningException($"IAM in account {account.Id} refused to look up the requester's user ({ex.Code}): {ex.ServiceMessage}", ex);
        }
    }

    private async Task<string> ResolveCoreAsync(AccountConfig account, string email, CancellationToken cancellationToken)
    {
        var client = _clients.For(account);
        var (userName, path) = account.UserMapping.Kind == UserMapping.EmailTagKind
            ? await ResolveByTagAsync(client, account, email, account.UserMapping.TagKey ?? "Email", cancellationToken)
            : await ResolveByNameAsync(client, account, email, cancellationToken);
        await CheckScopeAsync(client, account, userName, path, cancellationToken);
        return userName;
    }

    private async Task CheckScopeAsync(IIamClient client, AccountConfig account, string userName, string path, CancellationToken cancellationToken)
    {
        if (!path.StartsWith(_options.UserPath, StringComparison.Ordinal))
        {
            throw new PermanentProvisioningException($"The IAM user {userName} in account {account.Id} is at path {path}, outside {_options.UserPath}, where AccessWorkflows may grant (AccessWorkflows:Aws:UserPath).");
        }

        if (_options.UserTag is { Length: > 0 } && AwsPartition.ParseTag(_options.UserTag) is { } required)
        {
            var tags = await IamClientExtensions.ListAllAsync(marker => client.ListUserTagsAsync(userName, marker, cancellationToken));
            if (!tags.Any(t => t.Key == required.Key && t.Value == required.Value))
            {
                throw new PermanentProvisioningException($"The IAM user {userName} in account {account.Id} does not carry the tag {_options.UserTag} that AccessWorkflows may grant to (AccessWorkflows:Aws:UserTag).");
            }
        }
    }

    private static async Task<(string UserName, string Path)> ResolveByNameAsync(IIamClient client, AccountConfig account, string email, CancellationToken cancellationToken)
    {
        if (!UserNameRegex().IsMatch(email))
        {
            throw new PermanentProvisioningException($"{email} cannot be an IAM user name in account {account.Id}; map users by tag instead (userMapping kind email-tag).");
        }

        try
        {
            var user = await client.GetUserAsync(email, cancellationToken);
            return (user.UserName, user.Path);
        }
        catch (IamException ex) when (ex.IsNoSuchEntity)
        {
            throw new PermanentProvisioningException($"There is no IAM user named {email} in account {account.Id}; an administrator must create it before access can be granted.", ex);
        }
    }

    private async Task<(string UserName, string Path)> ResolveByTagAsync(IIamClient client, AccountConfig account, string email, string tagKey, CancellationToken cancellationToken)
    {
        var key = $"{account.Id}|{tagKey}";
        var now = _time.GetUtcNow();
        if (!_maps.TryGetValue(key, out var map) || now - map.LoadedAt > _options.UserCacheDuration)
        {
            map = await LoadAsync(client, tagKey, cancellationToken);
            _maps[key] = map;
        }
        else if (!map.Users.ContainsKey(email) && now - map.LoadedAt >= MinReloadInterval)
        {
            map = await LoadAsync(client, tagKey, cancellationToken);
            _maps[key] = map;
        }

        if (!map.Users.TryGetValue(email, out var users))
        {
            throw new PermanentProvisioningException($"No IAM user in account {account.Id} carries the tag {tagKey}={email}; an administrator must tag the requester's IAM user.");
        }

        if (users.Count > 1)
        {
            throw new PermanentProvisioningException($"Several IAM users in account {account.Id} carry the tag {tagKey}={email} ({string.Join(", ", users.Select(u => u.UserName))}); exactly one must.");
        }

        return users[0];
    }

    private async Task<TagMap> LoadAsync(IIamClient client, string tagKey, CancellationToken cancellationToken)
    {
        var users = await IamClientExtensions.ListAllAsync(marker => client.ListUsersAsync(marker, null, cancellationToken));
        var byEmail = new Dictionary<string, List<(string, string)>>(StringComparer.OrdinalIgnoreCase);
        foreach (var user in users)
        {
            List<IamTag> tags;
            try
            {
                tags = await IamClientExtensions.ListAllAsync(marker => client.ListUserTagsAsync(user.UserName, marker, cancellationToken));
            }
            catch (IamException ex) when (ex.IsNoSuchEntity)
            {
                continue; // deleted between the two calls
            }

            foreach (var tag in tags.Where(t => string.Equals(t.Key, tagKey, StringComparison.OrdinalIgnoreCase)))
            {
                var value = tag.Value.Trim();
                if (!byEmail.TryGetValue(value, out var list))
                {
                    byEmail[value] = list = [];
                }

                list.Add((user.UserName, user.Path));
            }
        }

        return new TagMap(_time.GetUtcNow(), byEmail.ToDictionary(p => p.Key, p => (IReadOnlyList<(string UserName, string Path)>)p.Value, StringComparer.OrdinalIgnoreCase));
    }

    private sealed record TagMap(DateTimeOffset LoadedAt, IReadOnlyDictionary<string, IReadOnlyList<(string UserName, string Path)>> Users);

    [GeneratedRegex(@"^[\w+=,.@-]{1,64}$")]
    private static partial Regex UserNameRegex();
}
