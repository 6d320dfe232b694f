using AccessWorkflows.Durable;
using AccessWorkflows.Notifications;

namespace AccessWorkflows.Workflow;

/// <summary>
/// Delivers notifications without holding the workflow up: one lane per channel, each delivering its
/// notifications in order (a webhook receiver sees a request's events in order even after an outage), all lanes
/// in parallel with each other and with the workflow. A notification that still fails after its retries is
/// dropped from its lane (and was logged by the activity), so a dead channel never blocks provisioning or
/// revocation. Runs inside the orchestrator: it only awaits durable tasks, so it replays deterministically.
/// </summary>
internal sealed class NotificationLanes
{
    private readonly IOrchestrationContext _context;
    private readonly Dictionary<string, Task> _lanes;

    public NotificationLanes(IOrchestrationContext context, IEnumerable<string> channels)
    {
        _context = context;
        _lanes = channels.Distinct(StringComparer.OrdinalIgnoreCase).ToDictionary(c => c, _ => Task.CompletedTask, StringComparer.OrdinalIgnoreCase);
    }

    public void Send(Notification notification)
    {
        foreach (var channel in _lanes.Keys.ToList())
        {
            _lanes[channel] = DeliverAfterAsync(_lanes[channel], channel, notification);
        }
    }

    /// <summary>Waits until every lane has delivered (or given up on) everything sent so far.</summary>
    public Task DrainAsync() => Task.WhenAll(_lanes.Values);

    private async Task DeliverAfterAsync(Task previous, string channel, Notification notification)
    {
        await previous;
        try
        {
            await _context.CallActivityAsync(WorkflowNames.DeliverActivity, new DeliverInput(channel, notification), RetryPolicies.Notify);
        }
        catch (TaskFailedException)
        {
            // Given up after the retries; the activity logged each failure.
        }
    }
}
