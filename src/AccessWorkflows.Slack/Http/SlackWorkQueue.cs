using AccessWorkflows.Hosting;

namespace AccessWorkflows.Slack.Http;

/// <summary>Slack's own bounded queue (<c>AccessWorkflows:Slack:QueueCapacity</c>) between the routes, which must answer
/// within 3 seconds, and the work they accept; drained by <see cref="WorkQueueProcessor{TQueue}"/>.</summary>
public sealed class SlackWorkQueue(SlackOptions options) : WorkQueue(options.QueueCapacity);
