using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;
using AccessWorkflows.Storage.Tables;
using AccessWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Server.Tests;

/// <summary>The server with <c>AccessWorkflows:Storage = tables</c> on Azurite: the whole life of a request through the
/// HTTP API, every fact of it landing in Azure Table Storage.</summary>
public sealed class TableStorageServerTests
{
    [Fact]
    public async Task On_table_storage_an_approved_request_becomes_active_then_expires_and_the_policy_comes_off()
    {
        var azurite = await Azurite.SharedAsync();
        var prefix = Azurite.NewTablePrefix();
        await using var server = new ServerFactory(settings: new Dictionary<string, string?>
        {
            ["AccessWorkflows:Storage"] = "tables",
            ["AccessWorkflows:Tables:ConnectionString"] = azurite.ConnectionString,
            ["AccessWorkflows:Tables:TablePrefix"] = prefix,
        });
        var alice = server.As("alice@example.com");
        var admin = server.As("secops@example.com");
        Assert.IsType<TableAccessStore>(Assert.IsType<AccessWorkflows.Server.Page.ObservedRequestStore>(server.Services.GetRequiredService<IRequestStore>()).Inner);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/api/health")).StatusCode);

        var created = await Api.CreatePendingAsync(alice, Api.PolicyRequest(duration: "PT3S"));
        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(server.As("carol@example.com"), created.Id, "approve", comment: "ok")).StatusCode);

        var active = await Api.WaitForStatusAsync(alice, created.Id, "active");
        Assert.Equal("carol@example.com", active.ApprovedBy);
        Assert.Contains(Api.ReadOnly, (await Api.SandboxUserAsync(admin, "alice@example.com")).AttachedPolicies);

        var expired = await Api.WaitForStatusAsync(alice, created.Id, "expired");
        Assert.NotNull(expired.EndedAt);
        Assert.DoesNotContain(Api.ReadOnly, (await Api.SandboxUserAsync(admin, "alice@example.com")).AttachedPolicies);

        var audit = await admin.GetFromJsonAsync<JsonElement>($"/api/requests/{created.Id}/audit");
        var types = audit.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal(["request.created", "request.pending", "decision.approved", "request.approved", "request.active", "request.expired"], types);

        var listed = await alice.GetFromJsonAsync<JsonElement>("/api/requests?status=expired&mine=true");
        Assert.Equal([created.Id], listed.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetString()));

        // The facts are in the tables, not in the server's memory: a store on the same tables reads them back.
        var tables = new TableAccessStore(new TableStoreOptions { ConnectionString = azurite.ConnectionString, TablePrefix = prefix });
        Assert.Equal(RequestStatus.Expired, (await tables.GetAsync(created.Id))!.Status);
        Assert.Empty(await ((IGrantLedger)tables).ListAsync(Api.Account));
    }
}
