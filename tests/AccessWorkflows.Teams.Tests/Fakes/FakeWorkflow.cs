using System.Collections.Concurrent;
using AccessWorkflows.Notifications;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;

namespace AccessWorkflows.Teams.Tests.Fakes;

/// <summary>
/// A stand-in for the server's request service and workflow: it applies the real decision rules of SPEC 6.5
/// (<see cref="DecisionRules"/>) and sends the notifications the workflow would, to every registered channel, in order.
/// </summary>
public sealed class FakeWorkflow : IAccessRequestCommands, IRequestStore
{
    private readonly ConcurrentDictionary<string, AccessRequest> _requests = new();
    private readonly Func<IEnumerable<INotificationChannel>> _channels;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private int _notifications;
    private int _storeReads;
    private int _decideCalls;
    private Action<AccessRequest>? _meanwhileOnce;

    public FakeWorkflow(Func<IEnumerable<INotificationChannel>> channels) => _channels = channels;

    public static readonly ApprovalPlan Plan = new()
    {
        Levels =
        [
            new ApprovalLevelPlan { Level = 1, Approvers = ["carol@example.com", "alice@example.com"], MinApprovals = 1, TeamsChannel = "19:approvers@thread.tacv2" },
        ],
        MaxDuration = TimeSpan.FromHours(8),
        ApprovalWindow = TimeSpan.FromDays(1),
    };

    public ConcurrentQueue<(string Requester, NewAccessRequest Body, string Channel)> Submissions { get; } = new();

    public ConcurrentQueue<(string RequestId, string By, string Channel)> Relinquishes { get; } = new();

    /// <summary>How many times a request was read through <see cref="IRequestStore"/>.</summary>
    public int StoreReads => Volatile.Read(ref _storeReads);

    /// <summary>How many decisions (counted or refused) reached the command.</summary>
    public int DecideCalls => Volatile.Read(ref _decideCalls);

    public AccessRequest? this[string id] => _requests.TryGetValue(id, out var r) ? r : null;

    /// <summary>What someone else does to the request just before the next decision is checked (once): a race.</summary>
    public Action<AccessRequest>? Meanwhile { get => _meanwhileOnce; set => _meanwhileOnce = value; }

    /// <summary>Creates a pending request and notifies like the workflow: received, then level 1 prompted.</summary>
    public async Task<AccessRequest> CreateAsync(string requester, string? reason = "debugging the billing job", string id = "req-0001", ApprovalPlan? plan = null)
    {
        var request = new AccessRequest
        {
            Id = id,
            Requester = requester,
            AccountId = "111122223333",
            Access = AccessSpec.Policy("arn:aws:iam::aws:policy/ReadOnlyAccess"),
            Duration = TimeSpan.FromHours(2),
            Reason = reason,
            RuleName = "readonly",
            Channel = Channels.Teams,
            Approval = plan ?? Plan,
            CreatedAt = DateTimeOffset.UtcNow,
        };
        _requests[id] = request;
        await NotifyAsync(NotificationKind.Received, request);
        request.MarkPending(1);
        await NotifyAsync(NotificationKind.ApprovalRequested, request, level: 1);
        return request;
    }

    public async Task<SubmitResult> SubmitAsync(string requesterEmail, NewAccessRequest body, string channel, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        Submissions.Enqueue((requesterEmail, body, channel));
        if (body.AccountId != "111122223333" || body.Access is null || body.Access.Validate().Count > 0)
        {
            return new SubmitResult(CommandOutcome.Invalid, null, "The request is not valid.", body.Access?.Validate());
        }

        var request = await CreateAsync(requesterEmail, body.Reason, "req-" + Guid.NewGuid().ToString("n")[..8]);
        return new SubmitResult(CommandOutcome.Accepted, request);
    }

    public async Task<CommandResult> DecideAsync(string requestId, string approverEmail, DecisionKind decision, TimeSpan? duration, string? comment, string channel, string decisionId, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _decideCalls);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!_requests.TryGetValue(requestId, out var r))
            {
                return CommandResult.Refused(CommandOutcome.NotFound, "There is no such request.");
            }

            Interlocked.Exchange(ref _meanwhileOnce, null)?.Invoke(r);

            if (r.Decisions.Any(d => d.Id == decisionId))
            {
                return CommandResult.Ok(r);
            }

            // The real rules (SPEC 6.5), so a handler test cannot pass on a fake that is more lenient or stricter.
            var check = DecisionRules.Check(r, DecisionRules.DecidableLevel(r), approverEmail, decision, duration);
            if (!check.Accepted)
            {
                return check;
            }

            r.AddDecision(new DecisionRecord(decisionId, approverEmail, decision, duration, comment, channel, r.ApprovalLevel, DateTimeOffset.UtcNow));
            if (decision == DecisionKind.Deny)
            {
                r.End(RequestStatus.Denied, DateTimeOffset.UtcNow, approverEmail, comment);
                await NotifyAsync(NotificationKind.Denied, r, approverEmail, comment);
                return CommandResult.Ok(r);
            }

            var granted = duration ?? r.Duration;
            r.Approve(granted, approverEmail);
            await NotifyAsync(NotificationKind.Approved, r, approverEmail, comment);
            var now = DateTimeOffset.UtcNow;
            r.Activate(now, now + granted);
            await NotifyAsync(NotificationKind.Active, r, approverEmail);
            return CommandResult.Ok(r);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<CommandResult> RelinquishAsync(string requestId, string requesterEmail, string channel, CancellationToken cancellationToken = default)
    {
        Relinquishes.Enqueue((requestId, requesterEmail, channel));
        if (!_requests.TryGetValue(requestId, out var r))
        {
            return CommandResult.Refused(CommandOutcome.NotFound, "There is no such request.");
        }

        if (r.Requester != requesterEmail)
        {
            return CommandResult.Refused(CommandOutcome.Forbidden, "Only the requester can relinquish.", r);
        }

        if (r.Status != RequestStatus.Active)
        {
            return CommandResult.Refused(CommandOutcome.Conflict, "The access is not active.", r);
        }

        r.End(RequestStatus.Relinquished, DateTimeOffset.UtcNow, requesterEmail, null);
        await NotifyAsync(NotificationKind.Ended, r, requesterEmail);
        return CommandResult.Ok(r);
    }

    public Task<CommandResult> RevokeAsync(string requestId, string adminEmail, string channel, string? comment, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public Task<CommandResult> ExtendAsync(string requestId, string requesterEmail, TimeSpan duration, string? reason, string channel, string extensionId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public Task<CommandResult> CancelAsync(string requestId, string requesterEmail, string channel, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public Task<CommandResult> ReviewAsync(string requestId, string reviewerEmail, string? comment, string channel, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public Task NotifyAsync(NotificationKind kind, AccessRequest r, string? actor = null, string? comment = null, int? level = null) =>
        Task.WhenAll(_channels().Select(c => c.DeliverAsync(new Notification
        {
            Id = $"{r.Id}:{kind}:{Interlocked.Increment(ref _notifications)}",
            Kind = kind,
            Request = r,
            Actor = actor,
            Comment = comment,
            Level = level,
            At = DateTimeOffset.UtcNow,
        })));

    Task<bool> IRequestStore.TryCreateAsync(AccessRequest request, CancellationToken cancellationToken) => Task.FromResult(_requests.TryAdd(request.Id, request));

    Task<AccessRequest?> IRequestStore.GetAsync(string id, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _storeReads);
        return Task.FromResult(this[id]);
    }

    Task<AccessRequest> IRequestStore.UpdateAsync(string id, Func<AccessRequest, bool> mutate, CancellationToken cancellationToken) => throw new NotSupportedException();

    Task<RequestPage> IRequestStore.QueryAsync(RequestQuery query, CancellationToken cancellationToken) => throw new NotSupportedException();
}
