using AccessWorkflows.Functions.Durable;
using AccessWorkflows.OnCall;
using AccessWorkflows.Requests;
using AccessWorkflows.Workflow;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace AccessWorkflows.Functions.Functions;

/// <summary>
/// The workflow on Durable Functions: the orchestrator and one activity function per activity, each a one-line call
/// into the shared code (the same list the server registers with its embedded engine in
/// <c>WorkflowRegistration</c>; names from <see cref="WorkflowNames"/>, so running instances keep working across hosts
/// of the same version). Activities take the invocation's <see cref="CancellationToken"/> (bound by the worker), not
/// the whole <c>FunctionContext</c>: it is all they need, and the fidelity tests call them as the worker does.
/// </summary>
public sealed class WorkflowFunctions
{
    private readonly AccessWorkflowActivities _activities;

    public WorkflowFunctions(AccessWorkflowActivities activities) => _activities = activities;

    [Function(WorkflowNames.Orchestrator)]
    public static Task<AccessWorkflowResult> RunOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context, AccessWorkflowInput input) =>
        AccessRequestOrchestrator.RunAsync(new DurableTaskOrchestrationContextAdapter(context), input);

    [Function(WorkflowNames.ApplyChangeActivity)]
    public Task<AccessRequest> ApplyChange([ActivityTrigger] RequestChange change, CancellationToken cancellationToken) =>
        _activities.ApplyChangeAsync(change, cancellationToken);

    [Function(WorkflowNames.DeliverActivity)]
    public Task Deliver([ActivityTrigger] DeliverInput input, CancellationToken cancellationToken) =>
        _activities.DeliverAsync(input, cancellationToken);

    [Function(WorkflowNames.CheckOnCallActivity)]
    public Task<OnCallAnswer> CheckOnCall([ActivityTrigger] OnCallInput input, CancellationToken cancellationToken) =>
        _activities.CheckOnCallAsync(input, cancellationToken);

    [Function(WorkflowNames.ResolveOnCallRespondersActivity)]
    public Task<List<string>> ResolveOnCallResponders([ActivityTrigger] OnCallRespondersInput input, CancellationToken cancellationToken) =>
        _activities.ResolveOnCallRespondersAsync(input, cancellationToken);

    [Function(WorkflowNames.ProvisionActivity)]
    public Task<string> Provision([ActivityTrigger] GrantInput input, CancellationToken cancellationToken) =>
        _activities.ProvisionAsync(input, cancellationToken);

    [Function(WorkflowNames.DeprovisionActivity)]
    public Task Deprovision([ActivityTrigger] GrantInput input, CancellationToken cancellationToken) =>
        _activities.DeprovisionAsync(input, cancellationToken);

    [Function(WorkflowNames.ExtendGrantActivity)]
    public Task ExtendGrant([ActivityTrigger] ExtendGrantInput input, CancellationToken cancellationToken) =>
        _activities.ExtendGrantAsync(input, cancellationToken);

    [Function(WorkflowNames.CollectActivityActivity)]
    public Task<AccessRequest> CollectActivity([ActivityTrigger] ActivityInput input, CancellationToken cancellationToken) =>
        _activities.CollectActivityAsync(input, cancellationToken);
}
