using System.Collections.Concurrent;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Integrations.Tests.Webhook;

/// <summary>The commands port as far as decisions go: who may decide which pending request, and what was decided.</summary>
internal sealed class FakeCommands : IAccessRequestCommands
{
    public ConcurrentDictionary<string, AccessRequest> Requests { get; } = new();

    public ConcurrentQueue<(string RequestId, string Approver, DecisionKind Decision, TimeSpan? Duration, string? Comment, string Channel, string DecisionId)> Calls { get; } = new();

    public AccessRequest Add(AccessRequest request)
    {
        Requests[request.Id] = request;
        return request;
    }

    public Task<CommandResult> DecideAsync(string requestId, string approverEmail, DecisionKind decision, TimeSpan? duration, string? comment, string channel, string decisionId, CancellationToken cancellationToken = default)
    {
        Calls.Enqueue((requestId, approverEmail, decision, duration, comment, channel, decisionId));
        if (!Requests.TryGetValue(requestId, out var request))
        {
            return Task.FromResult(CommandResult.Refused(CommandOutcome.NotFound, $"No request {requestId}."));
        }

        if (request.Status != RequestStatus.Pending)
        {
            return Task.FromResult(CommandResult.Refused(CommandOutcome.Conflict, $"Request {requestId} is {request.Status.WireName()}.", request));
        }

        if (!request.IsApproverAtOrBelow(approverEmail, request.ApprovalLevel))
        {
            return Task.FromResult(CommandResult.Refused(CommandOutcome.Forbidden, $"{approverEmail} is not an approver of this request."));
        }

        if (duration > request.Approval.MaxDuration)
        {
            return Task.FromResult(CommandResult.Refused(CommandOutcome.Invalid, "The duration exceeds the rule's maximum."));
        }

        lock (request)
        {
            request.AddDecision(new DecisionRecord(decisionId, approverEmail, decision, duration, comment, channel, request.ApprovalLevel, DateTimeOffset.UtcNow));
        }

        return Task.FromResult(CommandResult.Ok(request));
    }

    public Task<SubmitResult> SubmitAsync(string requesterEmail, NewAccessRequest body, string channel, string? idempotencyKey = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<CommandResult> ExtendAsync(string requestId, string requesterEmail, TimeSpan duration, string? reason, string channel, string extensionId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public Task<CommandResult> CancelAsync(string requestId, string requesterEmail, string channel, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public Task<CommandResult> RelinquishAsync(string requestId, string requesterEmail, string channel, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<CommandResult> RevokeAsync(string requestId, string adminEmail, string channel, string? comment, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<CommandResult> ReviewAsync(string requestId, string reviewerEmail, string? comment, string channel, CancellationToken cancellationToken = default) => throw new NotSupportedException();
}
