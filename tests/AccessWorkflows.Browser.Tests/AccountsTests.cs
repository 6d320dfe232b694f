using System.Text;
using AccessWorkflows.Storage;
using AccessWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AccessWorkflows.Browser.Tests;

/// <summary>The admin's Accounts view: each account's last reconciliation from the audit, and Reconcile now (confirmed).</summary>
public sealed class AccountsTests(ConsoleServer server) : IClassFixture<ConsoleServer>
{
    private const string Account = "111122223333";
    private const string ReadOnly = "arn:aws:iam::aws:policy/ReadOnlyAccess";

    [Fact]
    public async Task An_admin_reconciles_an_account_after_confirming_and_sees_drift_and_repair_an_auditor_only_reads()
    {
        // A live grant whose attachment someone removes by hand, and a policy someone attaches by hand.
        var id = await server.CreatePendingAsync("ivy@example.com", reason: "repair me");
        using (var carol = server.Api("carol@example.com"))
        {
            (await carol.PostAsync($"/api/requests/{id}/decision", new StringContent("{\"decision\":\"approve\"}", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        }

        var sandbox = server.Services.GetRequiredService<ISandboxIamStore>();
        await Eventually.Until(() => sandbox.GetUserAsync(Account, "ivy@example.com"), u => u is not null && u.AttachedPolicies.Contains(ReadOnly), "ivy's grant is attached");
        await sandbox.UpdateUserAsync(Account, "ivy@example.com", u => u with { AttachedPolicies = [.. u.AttachedPolicies.Where(p => p != ReadOnly)] });
        await sandbox.UpdateUserAsync(Account, "hank@example.com", u => u with { AttachedPolicies = [.. u.AttachedPolicies, ReadOnly] });

        var admin = await server.OpenAsync("secops@example.com", "accounts");
        var card = admin.Locator("#accounts-list .card").Filter(new() { HasText = $"sandbox ({Account})" });
        await Expect(card).ToBeVisibleAsync();
        await ConsoleTests.AssertAccessibleAsync(admin, "accounts");

        // Going back does nothing; confirming sweeps the account now.
        var reconcile = card.GetByRole(AriaRole.Button, new() { Name = "Reconcile now" });
        await reconcile.ClickAsync();
        var dialog = admin.GetByRole(AriaRole.Dialog, new() { Name = "Reconcile sandbox now?" });
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Go back" }).ClickAsync();
        await Expect(reconcile).ToBeFocusedAsync();
        Assert.DoesNotContain(ReadOnly, (await sandbox.GetUserAsync(Account, "ivy@example.com"))!.AttachedPolicies);

        await reconcile.ClickAsync();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Reconcile now" }).ClickAsync();
        await Expect(admin.GetByRole(AriaRole.Status)).ToContainTextAsync("Reconciled sandbox:");
        await Expect(admin.GetByRole(AriaRole.Status)).ToContainTextAsync("repaired 1, drift 1, errors 0.");
        await Expect(card.Locator("[data-f=last]")).ToContainTextAsync("by secops@example.com via api");
        await Expect(card.Locator("[data-f=summary]")).ToContainTextAsync("repaired 1, drift 1, errors 0");
        await Expect(card.Locator("[data-f=drift]")).ToContainTextAsync("hank@example.com holds policy " + ReadOnly);
        await Expect(card.Locator("[data-f=repair]")).ToContainTextAsync($"Re-applied policy {ReadOnly} to ivy@example.com: request {id}");
        Assert.Contains(ReadOnly, (await sandbox.GetUserAsync(Account, "ivy@example.com"))!.AttachedPolicies);
        Assert.Contains(ReadOnly, (await sandbox.GetUserAsync(Account, "hank@example.com"))!.AttachedPolicies); // drift is left in place

        // The auditor reads the same report and is offered nothing to do.
        var auditor = await server.OpenAsync("audit@example.com", "accounts");
        var seen = auditor.Locator("#accounts-list .card").Filter(new() { HasText = $"sandbox ({Account})" });
        await Expect(seen.Locator("[data-f=last]")).ToContainTextAsync("by secops@example.com via api");
        await Expect(seen.GetByRole(AriaRole.Button)).ToHaveCountAsync(0);

        // Someone who is neither sees no Accounts tab, and #accounts shows their own access instead.
        var ivy = await server.OpenAsync("ivy@example.com", "accounts");
        await Expect(ivy.GetByRole(AriaRole.Link, new() { Name = "Accounts" })).ToBeHiddenAsync();
        await Expect(ivy.Locator("#view-mine")).ToBeVisibleAsync();
    }
}
