using AccessWorkflows.Hosting;
using Microsoft.Extensions.Options;

namespace AccessWorkflows.Teams.Bot;

/// <summary>Teams' own bounded queue (<c>AccessWorkflows:Teams:QueueCapacity</c>): an approver's click is answered at once
/// with the card as the decision leaves it, and the command (its durable event or its refusal audit entry) runs here.</summary>
internal sealed class TeamsWorkQueue(IOptions<TeamsOptions> options) : WorkQueue(options.Value.QueueCapacity);
