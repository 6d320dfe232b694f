using AccessWorkflows.OnCall;
using AccessWorkflows.PagerDuty.Api;
using AccessWorkflows.Requests;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AccessWorkflows.PagerDuty;

/// <summary>
/// On call according to PagerDuty (SPEC 6.3, 10): the requester is the PagerDuty user whose email equals theirs,
/// and an on-call entry covers the moment asked about, in one of the plan's schedules, at exactly the plan's
/// escalation level. Being on some other level of the same escalation policy is not being on call.
/// </summary>
/// <remarks>
/// Never approves on doubt: an unknown user, an ambiguous answer, any PagerDuty error or a time-out answers
/// "not on call" with the reason, and the request goes to people. Only cancellation by the caller throws.
/// </remarks>
public sealed partial class PagerDutyOnCallDirectory(IPagerDutyApi api, IOptions<PagerDutyOptions> options, ILogger<PagerDutyOnCallDirectory> logger) : IOnCallDirectory
{
    private readonly PagerDutyOptions _options = options.Value;

    public async Task<OnCallAnswer> IsOnCallAsync(string email, OnCallPlan plan, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        if (!Grammar.IsEmail(email))
        {
            return OnCallAnswer.No("the requester's email is not valid");
        }

        var schedules = plan.PagerDutySchedules.Where(s => !string.IsNullOrWhiteSpace(s)).Select(s => s.Trim()).Distinct(StringComparer.Ordinal).ToList();
        if (schedules.Count == 0)
        {
            return OnCallAnswer.No("the rule names no PagerDuty schedule");
        }

        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(_options.Timeout);
        try
        {
            var userId = await FindUserIdAsync(email, budget.Token);
            if (userId is null)
            {
                LogUnknownUser(logger);
                return OnCallAnswer.No("no PagerDuty user has this email");
            }

            // PagerDuty includes every entry that overlaps [since, until]; the entry must still cover the moment itself.
            await foreach (var entry in api.ListOnCallsAsync(userId, schedules, at, at.AddSeconds(1), budget.Token))
            {
                if (entry.EscalationLevel == plan.EscalationLevel
                    && entry.User?.Id == userId
                    && entry.Schedule?.Id is { } scheduleId
                    && schedules.Contains(scheduleId, StringComparer.Ordinal)
                    && (entry.Start is null || entry.Start <= at)
                    && (entry.End is null || entry.End > at))
                {
                    LogOnCall(logger, scheduleId, plan.EscalationLevel);
                    return new OnCallAnswer(true, scheduleId, $"on call in schedule {scheduleId}");
                }
            }

            return OnCallAnswer.No($"not on call at escalation level {plan.EscalationLevel} in schedule {string.Join(", ", schedules)}");
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            LogFailed(logger, "time-out");
            return OnCallAnswer.No($"PagerDuty did not answer within {_options.Timeout.TotalSeconds:0.#}s; not treated as on call");
        }
        catch (PagerDutyApiException ex)
        {
            LogFailed(logger, ex.Message);
            return OnCallAnswer.No($"{ex.Message} Not treated as on call.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Anything unexpected is still a failed lookup, and a failed lookup never approves.
            LogFailed(logger, ex.GetType().Name);
            return OnCallAnswer.No("the PagerDuty lookup failed; not treated as on call");
        }
    }

    /// <summary>
    /// The first responders of <paramref name="escalationPolicyId"/>: users of entries at escalation level 1 that cover
    /// <paramref name="at"/>, by the email PagerDuty holds for them (the identity they decide with). Later levels of
    /// the policy are its own escalation and are not asked. Failures throw <see cref="PagerDutyApiException"/>.
    /// </summary>
    public async Task<IReadOnlyList<string>> OnCallResponderEmailsAsync(string escalationPolicyId, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(_options.Timeout);
        var emails = new List<string>();
        try
        {
            await foreach (var entry in api.ListPolicyOnCallsAsync(escalationPolicyId, at, at.AddSeconds(1), budget.Token))
            {
                if (entry.EscalationLevel == 1
                    && entry.EscalationPolicy?.Id == escalationPolicyId
                    && (entry.Start is null || entry.Start <= at)
                    && (entry.End is null || entry.End > at)
                    && entry.User?.Email?.Trim() is { } email
                    && Grammar.IsEmail(email)
                    && !emails.Contains(Grammar.NormalizeEmail(email)))
                {
                    emails.Add(Grammar.NormalizeEmail(email));
                }
            }
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new PagerDutyApiException($"PagerDuty did not answer within {_options.Timeout.TotalSeconds:0.#}s.");
        }

        LogResponders(logger, escalationPolicyId, emails.Count);
        return emails;
    }

    private async Task<string?> FindUserIdAsync(string email, CancellationToken cancellationToken)
    {
        string? found = null;
        await foreach (var user in api.FindUsersAsync(email, cancellationToken))
        {
            if (string.Equals(user.Email?.Trim(), email.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                if (found is not null && found != user.Id)
                {
                    // Two PagerDuty users with one email: which one is the requester is unknowable, so neither is.
                    throw new PagerDutyApiException("More than one PagerDuty user has this email.");
                }

                found = user.Id;
            }
        }

        return found;
    }

    [LoggerMessage(EventId = 7102, Level = LogLevel.Information, Message = "Requester is on call in PagerDuty schedule {ScheduleId} at escalation level {Level}.")]
    private static partial void LogOnCall(ILogger logger, string scheduleId, int level);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Information, Message = "No PagerDuty user matches the requester's email.")]
    private static partial void LogUnknownUser(ILogger logger);

    [LoggerMessage(EventId = 7105, Level = LogLevel.Information, Message = "PagerDuty escalation policy {Policy} has {Count} first responder(s) on call.")]
    private static partial void LogResponders(ILogger logger, string policy, int count);

    [LoggerMessage(EventId = 7104, Level = LogLevel.Warning, Message = "PagerDuty on-call lookup failed ({Reason}); the request goes to people.")]
    private static partial void LogFailed(ILogger logger, string reason);
}
