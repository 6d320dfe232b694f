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
/// of the same version).
/// </summary>
public sealed class WorkflowFunctions
{
    private readonly AccessWorkflowActivities _activities;

    public WorkflowFunctions(AccessWorkflowActivities activities) => _activities = activities;

    [Function(WorkflowNames.Orchestrator)]
    public static Task<AccessWorkflowResult> RunOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context, AccessWorkflowInput input) =>
        AccessRequestOrchestrator.RunAsync(new DurableTaskOrchestrationContextAdapter(context), input);

    [Function(WorkflowNames.ApplyChangeActivity)]
    public Task<AccessRequest> ApplyChange([ActivityTrigger] RequestChange change, FunctionContext context) =>
        _activities.ApplyChangeAsync(change, context.CancellationToken);

    [Function(WorkflowNames.DeliverActivity)]
    public Task Deliver([ActivityTrigger] DeliverInput input, FunctionContext context) =>
        _activities.DeliverAsync(input, context.CancellationToken);

    [Function(WorkflowNames.CheckOnCallActivity)]
    public Task<OnCallAnswer> CheckOnCall([ActivityTrigger] OnCallInput input, FunctionContext context) =>
        _activities.CheckOnCallAsync(input, context.CancellationToken);

    [Function(WorkflowNames.ProvisionActivity)]
    public Task<string> Provision([ActivityTrigger] GrantInput input, FunctionContext context) =>
        _activities.ProvisionAsync(input, context.CancellationToken);

    [Function(WorkflowNames.DeprovisionActivity)]
    public Task Deprovision([ActivityTrigger] GrantInput input, FunctionContext context) =>
        _activities.DeprovisionAsync(input, context.CancellationToken);
}
