using System.Collections.Concurrent;
using System.Threading.Channels;
using AccessWorkflows.Notifications;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;

namespace AccessWorkflows.Slack.Tests.Fakes;

/// <summary>
/// Stands in for the server's request service: the real decision rules of SPEC 6.5 (<see cref="DecisionRules"/>),
/// the same decision once, and notifications to the channel in order, from one background loop as an orchestrator would send them.
/// </summary>
public sealed class FakeAccessWorkflow : IAccessRequestCommands, IRequestStore
{
    public const string ApproverChannel = "C0APPROVE";
    private readonly ConcurrentDictionary<string, AccessRequest> _requests = new();
    private readonly ConcurrentDictionary<string, string> _byKey = new();
    private readonly Channel<Notification> _outbox = Channel.CreateUnbounded<Notification>();
    private readonly ConcurrentQueue<(string Command, string Email, string? DecisionId)> _log = new();
    private readonly ConcurrentQueue<Exception> _failures = new();
    private INotificationChannel? _channel;
    private int _next;
    private int _notifications;

    public IReadOnlyList<string> Approvers { get; init; } = ["carol@example.com"];

    public int MinApprovals { get; init; } = 1;

    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromHours(8);

    public IReadOnlyList<(string Command, string Email, string? DecisionId)> Log => [.. _log];

    public IReadOnlyList<Exception> Failures => [.. _failures];

    public IReadOnlyList<AccessRequest> Requests => [.. _requests.Values];

    public AccessRequest? Find(string id) => _requests.TryGetValue(id, out var r) ? r : null;

    /// <summary>Starts delivering notifications to <paramref name="channel"/>.</summary>
    public void Attach(INotificationChannel channel)
    {
        _channel = channel;
        _ = Task.Run(async () =>
        {
            await foreach (var n in _outbox.Reader.ReadAllAsync())
            {
                try
                {
                    await _channel.DeliverAsync(n);
                }
                catch (Exception e)
                {
                    _failures.Enqueue(e);
                }
            }
        });
    }

    public Task<SubmitResult> SubmitAsync(string requesterEmail, NewAccessRequest body, string channel, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        _log.Enqueue(("submit", requesterEmail, idempotencyKey));
        if (idempotencyKey is not null && _byKey.TryGetValue(requesterEmail + "|" + idempotencyKey, out var existing))
        {
            return Task.FromResult(new SubmitResult(CommandOutcome.Accepted, _requests[existing]));
        }

        if (body.AccountId != "111122223333")
        {
            return Task.FromResult(new SubmitResult(CommandOutcome.Invalid, null, "invalid", new Dictionary<string, string> { ["accountId"] = "is not an account in the rules" }));
        }

        var request = new AccessRequest
        {
            Id = "req-" + Interlocked.Increment(ref _next),
            Requester = requesterEmail,
            AccountId = body.AccountId,
            Access = body.Access!,
            Duration = AccessDuration.Parse(body.Duration!),
            Reason = body.Reason,
            RuleName = "readonly",
            Channel = channel,
            CreatedAt = DateTimeOffset.UtcNow,
            Approval = new ApprovalPlan
            {
                MaxDuration = MaxDuration,
                Levels = [new ApprovalLevelPlan { Level = 1, Approvers = Approvers, MinApprovals = MinApprovals, SlackChannel = ApproverChannel }],
            },
        };
        _requests[request.Id] = request;
        if (idempotencyKey is not null)
        {
            _byKey[requesterEmail + "|" + idempotencyKey] = request.Id;
        }

        Notify(NotificationKind.Received, request);
        request.MarkPending(1);
        Notify(NotificationKind.ApprovalRequested, request, level: 1);
        return Task.FromResult(new SubmitResult(CommandOutcome.Accepted, request));
    }

    public Task<CommandResult> DecideAsync(string requestId, string approverEmail, DecisionKind decision, TimeSpan? duration, string? comment, string channel, string decisionId, CancellationToken cancellationToken = default)
    {
        _log.Enqueue(("decide", approverEmail, decisionId));
        if (!_requests.TryGetValue(requestId, out var request))
        {
            return Task.FromResult(CommandResult.Refused(CommandOutcome.NotFound, "No such request."));
        }

        lock (request)
        {
            if (request.Decisions.Any(d => d.Id == decisionId))
            {
                return Task.FromResult(CommandResult.Ok(request));
            }

            // The real rules (SPEC 6.5), so a handler test cannot pass on a fake that is more lenient or stricter.
            var check = DecisionRules.Check(request, DecisionRules.DecidableLevel(request), approverEmail, decision, duration);
            if (!check.Accepted)
            {
                return Task.FromResult(check);
            }

            var now = DateTimeOffset.UtcNow;
            request.AddDecision(new DecisionRecord(decisionId, approverEmail, decision, duration, comment, channel, 1, now));
            if (decision == DecisionKind.Deny)
            {
                request.End(RequestStatus.Denied, now, approverEmail, comment);
                Notify(NotificationKind.Denied, request, approverEmail, comment);
            }
            else if (request.Decisions.Count(d => d.Decision == DecisionKind.Approve) >= MinApprovals)
            {
                var granted = duration ?? request.Duration;
                request.Approve(granted, approverEmail);
                Notify(NotificationKind.Approved, request, approverEmail);
                request.Activate(now, now + granted);
                Notify(NotificationKind.Active, request, approverEmail);
            }
            else
            {
                Notify(NotificationKind.DecisionRecorded, request, approverEmail);
            }

            return Task.FromResult(CommandResult.Ok(request));
        }
    }

    public Task<CommandResult> RelinquishAsync(string requestId, string requesterEmail, string channel, CancellationToken cancellationToken = default)
    {
        _log.Enqueue(("relinquish", requesterEmail, null));
        if (!_requests.TryGetValue(requestId, out var request))
        {
            return Task.FromResult(CommandResult.Refused(CommandOutcome.NotFound, "No such request."));
        }

        lock (request)
        {
            if (requesterEmail != request.Requester)
            {
                return Task.FromResult(CommandResult.Refused(CommandOutcome.Forbidden, "Only the requester can relinquish.", request));
            }

            if (request.Status != RequestStatus.Active)
            {
                return Task.FromResult(CommandResult.Refused(CommandOutcome.Conflict, "The access is not active.", request));
            }

            request.End(RequestStatus.Relinquished, DateTimeOffset.UtcNow, requesterEmail, null);
            Notify(NotificationKind.Ended, request, requesterEmail);
            return Task.FromResult(CommandResult.Ok(request));
        }
    }

    public Task<CommandResult> RevokeAsync(string requestId, string adminEmail, string channel, string? comment, CancellationToken cancellationToken = default)
        => Task.FromResult(CommandResult.Refused(CommandOutcome.Forbidden, "Not in this fake."));

    public Task<CommandResult> ExtendAsync(string requestId, string requesterEmail, TimeSpan duration, string? reason, string channel, string extensionId, CancellationToken cancellationToken = default)
        => Task.FromResult(CommandResult.Refused(CommandOutcome.Forbidden, "Not in this fake."));

    public Task<CommandResult> CancelAsync(string requestId, string requesterEmail, string channel, CancellationToken cancellationToken = default)
        => Task.FromResult(CommandResult.Refused(CommandOutcome.Forbidden, "Not in this fake."));

    public Task<CommandResult> ReviewAsync(string requestId, string reviewerEmail, string? comment, string channel, CancellationToken cancellationToken = default)
        => Task.FromResult(CommandResult.Refused(CommandOutcome.Forbidden, "Not in this fake."));

    // The read side the Slack handlers use to check a clicker before opening a modal. Reads return a snapshot,
    // as the real stores do, so a caller never sees later changes through its copy.
    Task<AccessRequest?> IRequestStore.GetAsync(string id, CancellationToken cancellationToken)
    {
        if (!_requests.TryGetValue(id, out var request))
        {
            return Task.FromResult<AccessRequest?>(null);
        }

        lock (request)
        {
            return Task.FromResult<AccessRequest?>(Snapshot(request));
        }
    }

    Task<bool> IRequestStore.TryCreateAsync(AccessRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(_requests.TryAdd(request.Id, request));

    Task<AccessRequest> IRequestStore.UpdateAsync(string id, Func<AccessRequest, bool> mutate, CancellationToken cancellationToken)
    {
        var request = _requests.TryGetValue(id, out var r) ? r : throw new KeyNotFoundException(id);
        lock (request)
        {
            mutate(request);
            return Task.FromResult(Snapshot(request));
        }
    }

    Task<RequestPage> IRequestStore.QueryAsync(RequestQuery query, CancellationToken cancellationToken) =>
        Task.FromResult(new RequestPage([.. _requests.Values.Where(r => query.Status is null || r.Status == query.Status).Select(Snapshot)], null));

    private static AccessRequest Snapshot(AccessRequest request) =>
        System.Text.Json.JsonSerializer.Deserialize<AccessRequest>(System.Text.Json.JsonSerializer.Serialize(request))!;

    /// <summary>Notifications carry a snapshot, as the workflow's do.</summary>
    private void Notify(NotificationKind kind, AccessRequest request, string? actor = null, string? comment = null, int? level = null)
    {
        var snapshot = Snapshot(request);
        _outbox.Writer.TryWrite(new Notification
        {
            Id = $"{request.Id}:{Interlocked.Increment(ref _notifications)}:{kind}",
            Kind = kind,
            Request = snapshot,
            Level = level,
            Actor = actor,
            Comment = comment,
            At = DateTimeOffset.UtcNow,
        });
    }
}
