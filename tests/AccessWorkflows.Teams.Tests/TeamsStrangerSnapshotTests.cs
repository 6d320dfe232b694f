using System.Text.Json.Nodes;
using AccessWorkflows.Teams.Bot;
using AccessWorkflows.Teams.Tests.Fakes;
using AccessWorkflows.Testing;

namespace AccessWorkflows.Teams.Tests;

/// <summary>
/// A stranger's clicks (no approver, not the requester) are answered from a read of the request at most
/// <see cref="RequestSnapshots.Lifetime"/> old, and every one of them still reaches the command; approvers' clicks
/// always read the store.
/// </summary>
public sealed class TeamsStrangerSnapshotTests : IAsyncLifetime
{
    private readonly SteppedClock _clock = new(DateTimeOffset.UtcNow);
    private TeamsHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await TeamsHarness.StartAsync(time: _clock);
        await _h.InstallEverywhereAsync();
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task A_strangers_clicks_within_the_lifetime_read_the_request_once_and_each_reaches_the_command()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var (cardId, _) = Assert.Single(_h.Connector.MessagesIn(TeamsHarness.ApproverChannel));
        var reads = _h.Workflow.StoreReads;

        for (var i = 0; i < 3; i++)
        {
            Assert.Contains("mallory@example.com is not an approver of a level this request has been sent to.", await ClickAsync("29:mallory", request.Id, cardId));
        }

        Assert.Equal(reads + 1, _h.Workflow.StoreReads);
        await Eventually.Until(() => Task.FromResult(_h.Workflow.DecideCalls), n => n == 3, "every stranger's click reaches the command");

        // Older than its lifetime, the snapshot answers no one: the next click reads the store again.
        _clock.Advance(RequestSnapshots.Lifetime);
        Assert.Contains("mallory@example.com is not an approver of a level this request has been sent to.", await ClickAsync("29:mallory", request.Id, cardId));
        Assert.Equal(reads + 2, _h.Workflow.StoreReads);
    }

    [Fact]
    public async Task An_approvers_click_reads_the_store_even_right_after_a_strangers()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var (cardId, _) = Assert.Single(_h.Connector.MessagesIn(TeamsHarness.ApproverChannel));
        await ClickAsync("29:mallory", request.Id, cardId);
        var reads = _h.Workflow.StoreReads;

        // The requester is no stranger either: her own click is checked on the request as stored.
        Assert.Contains("You cannot decide on your own request.", await ClickAsync("29:alice", request.Id, cardId));
        Assert.Contains("Your approval was accepted.", await ClickAsync("29:carol", request.Id, cardId));

        Assert.Equal(reads + 2, _h.Workflow.StoreReads);
    }

    private async Task<List<string>> ClickAsync(string userId, string requestId, string cardId)
    {
        var response = await _h.InvokeAsync(Activities.Execute(_h.Connector.ServiceUrl, userId, "approve", new JsonObject { ["requestId"] = requestId }, TeamsHarness.ApproverChannel, cardId));
        return TeamsApprovalFlowTests.Texts(response["value"]!.AsObject());
    }
}
