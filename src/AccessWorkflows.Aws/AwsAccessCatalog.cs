using System.Collections.Concurrent;
using AccessWorkflows.Aws.Iam;
using AccessWorkflows.Aws.IdentityCenter;
using AccessWorkflows.Grants;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Aws;

/// <summary>Autocomplete from the real account: every attachable managed policy (AWS and customer, without the
/// per-request policies AccessWorkflows generates) and every group; cached per account for a few minutes.</summary>
public sealed class AwsAccessCatalog : IAccessCatalog
{
    private readonly IIamClientFactory _clients;
    private readonly PermissionSetAssignments _permissionSets;
    private readonly AwsOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, (DateTimeOffset At, IReadOnlyList<string> Items)> _cache = new();

    public AwsAccessCatalog(IIamClientFactory clients, PermissionSetAssignments permissionSets, AwsOptions options, TimeProvider time)
    {
        _clients = clients;
        _permissionSets = permissionSets;
        _options = options;
        _time = time;
    }

    public Task<IReadOnlyList<string>> ListPolicyArnsAsync(AccountConfig account, CancellationToken cancellationToken = default) =>
        CachedAsync($"policies|{account.Id}", async () =>
        {
            var client = _clients.For(account);
            var policies = await IamClientExtensions.ListAllAsync(marker => client.ListPoliciesAsync("All", null, marker, cancellationToken));
            return policies.Where(p => !p.Path.StartsWith(AwsProvisioner.GeneratedPolicyPath, StringComparison.Ordinal)).Select(p => p.Arn).Order(StringComparer.Ordinal).ToList();
        });

    public Task<IReadOnlyList<string>> ListGroupNamesAsync(AccountConfig account, CancellationToken cancellationToken = default) =>
        CachedAsync($"groups|{account.Id}", async () =>
        {
            var client = _clients.For(account);
            var groups = await IamClientExtensions.ListAllAsync(marker => client.ListGroupsAsync(marker, cancellationToken));
            return groups.Select(g => g.GroupName).Order(StringComparer.Ordinal).ToList();
        });

    /// <summary>The Identity Center instance's permission sets (<c>ListPermissionSets</c>, every page).</summary>
    public Task<IReadOnlyList<string>> ListPermissionSetArnsAsync(CancellationToken cancellationToken = default) =>
        CachedAsync("permission-sets", async () => [.. await _permissionSets.ListPermissionSetArnsAsync(cancellationToken)]);

    private async Task<IReadOnlyList<string>> CachedAsync(string key, Func<Task<List<string>>> load)
    {
        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(key, out var entry) && now - entry.At < _options.CatalogCacheDuration)
        {
            return entry.Items;
        }

        var items = await load();
        _cache[key] = (now, items);
        return items;
    }
}
