using AccessWorkflows.Durable;
using AccessWorkflows.Notifications;
using AccessWorkflows.OnCall;
using AccessWorkflows.Requests;
using AccessWorkflows.Workflow;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace AccessWorkflows.Tests.Workflow;

/// <summary>
/// Drives <see cref="AccessRequestOrchestrator"/> through a Moq mock of the context port, the way Durable
/// orchestrators are unit-tested: activities answer from this harness, timers and events are completed by the
/// test. Continuations run inline, so after each Fire/Raise the orchestrator has advanced as far as it can.
/// </summary>
internal sealed class OrchestratorHarness
{
    private readonly Mock<IOrchestrationContext> _context = new(MockBehavior.Strict);
    private readonly Dictionary<string, Queue<object>> _buffered = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Queue<TaskCompletionSource<object>>> _waiters = new(StringComparer.OrdinalIgnoreCase);
    private int _guid;

    public OrchestratorHarness(AccessRequest request, params string[] channels)
    {
        Request = request;
        Input = new AccessWorkflowInput(request, channels.Length == 0 ? ["inprocess"] : channels, TimeSpan.FromMinutes(10));
        _context.SetupGet(c => c.InstanceId).Returns(request.Id);
        _context.SetupGet(c => c.CurrentUtcDateTime).Returns(() => Now);
        _context.SetupGet(c => c.IsReplaying).Returns(false);
        _context.Setup(c => c.NewGuid()).Returns(() => new Guid(++_guid, 0, 0, new byte[8]));
        _context.Setup(c => c.CreateReplaySafeLogger(It.IsAny<string>())).Returns(NullLogger.Instance);
        _context.Setup(c => c.SetCustomStatus(It.IsAny<object?>())).Callback<object?>(s => CustomStatus = s);

        _context.Setup(c => c.CallActivityAsync<AccessRequest>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
            .Returns<TaskName, object?, TaskOptions?>((name, input, _) => Task.FromResult(
                name.Name == WorkflowNames.CollectActivityActivity ? CollectActivity((ActivityInput)input!) : ApplyChange((RequestChange)input!)));
        _context.Setup(c => c.CallActivityAsync<OnCallAnswer>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
            .Returns<TaskName, object?, TaskOptions?>((_, input, _) => AnswerOnCall((OnCallInput)input!));
        _context.Setup(c => c.CallActivityAsync<string>(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
            .Returns<TaskName, object?, TaskOptions?>((_, input, _) => Provision((GrantInput)input!));
        _context.Setup(c => c.CallActivityAsync(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
            .Returns<TaskName, object?, TaskOptions?>((name, input, _) => VoidActivity(name, input!));
        _context.Setup(c => c.CreateTimer(It.IsAny<DateTime>(), It.IsAny<CancellationToken>()))
            .Returns<DateTime, CancellationToken>(CreateTimer);
        _context.Setup(c => c.WaitForExternalEvent<DecisionEvent>(It.IsAny<string>(), It.IsAny<CancellationToken>()))
            .Returns<string, CancellationToken>((name, _) => Wait<DecisionEvent>(name));
        _context.Setup(c => c.WaitForExternalEvent<EndCommand>(It.IsAny<string>(), It.IsAny<CancellationToken>()))
            .Returns<string, CancellationToken>((name, _) => Wait<EndCommand>(name));
        _context.Setup(c => c.WaitForExternalEvent<ExtendCommand>(It.IsAny<string>(), It.IsAny<CancellationToken>()))
            .Returns<string, CancellationToken>((name, _) => Wait<ExtendCommand>(name));
    }

    public AccessRequest Request { get; private set; }

    /// <summary>The input the orchestrator starts with: workflow version 1 unless a test sets another.</summary>
    public AccessWorkflowInput Input { get; set; }

    public DateTime Now { get; set; } = new(2026, 11, 21, 9, 0, 0, DateTimeKind.Utc);

    public object? CustomStatus { get; private set; }

    public List<RequestChange> Changes { get; } = [];

    /// <summary>Every delivery to every channel, in the order the lanes made them.</summary>
    public List<DeliverInput> Deliveries { get; } = [];

    /// <summary>What the first channel was sent.</summary>
    public List<Notification> Notifications => [.. Deliveries.Where(d => d.Channel == Input.Channels[0]).Select(d => d.Notification)];

    public List<GrantInput> Provisions { get; } = [];

    public List<GrantInput> Deprovisions { get; } = [];

    /// <summary>Inputs of <see cref="WorkflowNames.ExtendGrantActivity"/> (version 4).</summary>
    public List<ExtendGrantInput> ExtendGrants { get; } = [];

    /// <summary>Applied to the stored request before each change, as another writer would (the commands port's cancel).</summary>
    public Action<AccessRequest>? BeforeChange { get; set; }

    public List<Timer> Timers { get; } = [];

    /// <summary>Set to answer the on-call check; null makes the activity fail.</summary>
    public OnCallAnswer? OnCallAnswer { get; set; } = AccessWorkflows.OnCall.OnCallAnswer.No("not on call");

    /// <summary>How many provisioning attempts fail (after their retries) before one succeeds.</summary>
    public int ProvisionFailures { get; set; }

    public int DeprovisionFailures { get; set; }

    public Task<AccessWorkflowResult> Start() => AccessRequestOrchestrator.RunAsync(_context.Object, Input);

    public IEnumerable<NotificationKind> NotificationKinds => Notifications.Select(n => n.Kind);

    public IEnumerable<Timer> PendingTimers => Timers.Where(t => !t.Task.IsCompleted);

    /// <summary>What the workflow asked to collect CloudTrail activity for (version 4, after the grant ended).</summary>
    public List<ActivityInput> ActivityCollections { get; } = [];

    /// <summary>Fires the one timer left once a version 4 grant has ended: the wait before its activity is collected.</summary>
    public void FireActivityTimer() => Fire(PendingTimers.Single().FireAt);

    /// <summary>Fires the pending timer due at <paramref name="fireAt"/>, moving the clock there.</summary>
    private AccessRequest CollectActivity(ActivityInput input)
    {
        ActivityCollections.Add(input);
        return Request;
    }

    public void Fire(DateTime fireAt)
    {
        var timer = PendingTimers.Single(t => t.FireAt == fireAt);
        Now = fireAt;
        timer.Source.TrySetResult();
    }

    public void Raise<T>(string name, T payload)
        where T : notnull
    {
        if (_waiters.TryGetValue(name, out var waiting) && waiting.Count > 0)
        {
            waiting.Dequeue().TrySetResult(payload);
            return;
        }

        if (!_buffered.TryGetValue(name, out var queue))
        {
            _buffered[name] = queue = new Queue<object>();
        }

        queue.Enqueue(payload);
    }

    public void Decide(string approver, DecisionKind decision, TimeSpan? duration = null, string? id = null) =>
        Raise(WorkflowNames.DecisionEvent, new DecisionEvent(id ?? Guid.NewGuid().ToString("N"), approver, decision, duration, null, Channels.Api, Now));

    private Task<T> Wait<T>(string name)
    {
        if (_buffered.TryGetValue(name, out var queue) && queue.Count > 0)
        {
            return Task.FromResult((T)queue.Dequeue());
        }

        var source = new TaskCompletionSource<object>();
        if (!_waiters.TryGetValue(name, out var waiting))
        {
            _waiters[name] = waiting = new Queue<TaskCompletionSource<object>>();
        }

        waiting.Enqueue(source);
        return source.Task.ContinueWith(t => (T)t.Result, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken)
    {
        var timer = new Timer(fireAt, new TaskCompletionSource());
        cancellationToken.Register(() => timer.Source.TrySetCanceled());
        Timers.Add(timer);
        return timer.Task;
    }

    private AccessRequest ApplyChange(RequestChange change)
    {
        Changes.Add(change);
        var r = Copy(Request);
        BeforeChange?.Invoke(r);
        switch (change.Kind)
        {
            case RequestChangeKind.ExtensionRequested:
                r.AddExtension(change.Extension!);
                break;
            case RequestChangeKind.ExtensionApplied:
                r.ApplyExtension(change.Extension!, change.ExpiresAt!.Value, change.ApprovedBy, change.At);
                break;
            case RequestChangeKind.ExtensionDenied:
                r.DenyExtension(change.Extension!.Id, change.Actor, change.Detail, change.At);
                break;
            case RequestChangeKind.Pending:
                r.MarkPending(change.Level!.Value);
                break;
            case RequestChangeKind.Decision:
                r.AddDecision(change.Decision!);
                break;
            case RequestChangeKind.Approved:
                r.Approve(change.GrantedDuration!.Value, change.ApprovedBy!);
                break;
            case RequestChangeKind.Active:
                r.Activate(change.GrantedAt!.Value, change.ExpiresAt!.Value);
                break;
            case RequestChangeKind.Ended:
                r.End(change.EndStatus!.Value, change.At, change.Actor, change.Detail);
                break;
        }

        Request = r;
        return r;
    }

    private Task<OnCallAnswer> AnswerOnCall(OnCallInput input) =>
        OnCallAnswer is { } answer
            ? Task.FromResult(answer)
            : Task.FromException<OnCallAnswer>(new TaskFailedException(WorkflowNames.CheckOnCallActivity, 1, new TaskFailureDetails("HttpRequestException", "PagerDuty is down")));

    private Task<string> Provision(GrantInput input)
    {
        Provisions.Add(input);
        if (ProvisionFailures-- > 0)
        {
            return Task.FromException<string>(new TaskFailedException(WorkflowNames.ProvisionActivity, 2, new TaskFailureDetails("PermanentProvisioningException", "NoSuchEntity: the user does not exist")));
        }

        return Task.FromResult("iam-user");
    }

    private Task VoidActivity(TaskName name, object input)
    {
        if (name == WorkflowNames.DeliverActivity)
        {
            Deliveries.Add((DeliverInput)input);
            return Task.CompletedTask;
        }

        if (name == WorkflowNames.ExtendGrantActivity)
        {
            ExtendGrants.Add((ExtendGrantInput)input);
            return Task.CompletedTask;
        }

        if (name == WorkflowNames.DeprovisionActivity)
        {
            Deprovisions.Add((GrantInput)input);
            return DeprovisionFailures-- > 0
                ? Task.FromException(new TaskFailedException(WorkflowNames.DeprovisionActivity, 3, new TaskFailureDetails("AmazonServiceException", "Throttling")))
                : Task.CompletedTask;
        }

        throw new InvalidOperationException($"Unexpected activity {name}.");
    }

    private static AccessRequest Copy(AccessRequest r) =>
        System.Text.Json.JsonSerializer.Deserialize<AccessRequest>(System.Text.Json.JsonSerializer.Serialize(r, DurableJson.Options), DurableJson.Options)!;

    internal sealed record Timer(DateTime FireAt, TaskCompletionSource Source)
    {
        public Task Task => Source.Task;
    }
}
