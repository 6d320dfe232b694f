using AccessWorkflows.Grants;
using AccessWorkflows.Requests;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Teams.Bot;

/// <summary>What the request form offers a requester: accounts, and typeahead choices for policies and groups.
/// Never offers what no rule allows that requester (SPEC 5).</summary>
public interface ITeamsRequestOptions
{
    IReadOnlyList<(string Id, string Name)> Accounts(string requesterEmail);

    Task<IReadOnlyList<(string Title, string Value)>> SearchAsync(string requesterEmail, string dataset, string? accountId, string query, int top, CancellationToken cancellationToken);
}

/// <summary>The core's autocomplete source (<see cref="AccessOptions"/>: the catalog filtered by the rules matcher),
/// shaped for Teams. Offers nothing when the host registered no <see cref="AccessOptions"/>.</summary>
internal sealed class CoreRequestOptions : ITeamsRequestOptions
{
    private readonly IServiceProvider _services;

    public CoreRequestOptions(IServiceProvider services) => _services = services;

    public IReadOnlyList<(string Id, string Name)> Accounts(string requesterEmail) =>
        _services.GetService<AccessOptions>() is { } options
            ? [.. options.Accounts(requesterEmail).Select(a => (a.Id, a.Name))]
            : [];

    public async Task<IReadOnlyList<(string Title, string Value)>> SearchAsync(string requesterEmail, string dataset, string? accountId, string query, int top, CancellationToken cancellationToken)
    {
        AccessKind? kind = dataset switch
        {
            Cards.TeamsCards.PoliciesDataset => AccessKind.Policy,
            Cards.TeamsCards.GroupsDataset => AccessKind.Group,
            _ => null,
        };
        if (kind is null || accountId is null || !Grammar.IsAccountId(accountId) || _services.GetService<AccessOptions>() is not { } options)
        {
            return [];
        }

        var found = await options.SuggestAsync(requesterEmail, accountId, kind.Value, query, cancellationToken);
        return [.. found.Take(Math.Clamp(top, 1, 50)).Select(v => (kind == AccessKind.Policy ? $"{v[(v.LastIndexOf('/') + 1)..]} ({v})" : v, v))];
    }
}
