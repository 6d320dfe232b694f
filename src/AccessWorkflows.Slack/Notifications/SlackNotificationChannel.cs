using AccessWorkflows.Concurrency;
using AccessWorkflows.Notifications;
using AccessWorkflows.Requests;
using AccessWorkflows.Slack.Api;
using AccessWorkflows.Slack.Blocks;
using AccessWorkflows.Storage;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Slack.Notifications;

/// <summary>
/// The <c>slack</c> notification channel: approver messages in each notified level's Slack channel, replaced in
/// place (<c>chat.update</c>) on every later change, and DMs to the requester. Idempotent per notification: every
/// post is recorded as done in <see cref="IMessageRefStore"/> once made, so a re-run activity posts nothing twice.
/// Deliveries of one request run one at a time, in the order they arrive, so Slack shows them in order.
/// </summary>
public sealed partial class SlackNotificationChannel : INotificationChannel
{
    public const string ChannelName = "slack";
    internal const string ApprovalKind = "approval";
    internal const string ActiveDmKind = "requester-active";
    internal const string ReceivedDmKind = "requester-received";

    private readonly ISlackApi _api;
    private readonly IMessageRefStore _refs;
    private readonly SlackUserDirectory _users;
    private readonly KeyedLock<string> _locks = new(StringComparer.Ordinal);
    private readonly ILogger<SlackNotificationChannel> _logger;

    public SlackNotificationChannel(ISlackApi api, IMessageRefStore refs, SlackUserDirectory users, ILogger<SlackNotificationChannel> logger)
    {
        _api = api;
        _refs = refs;
        _users = users;
        _logger = logger;
    }

    public string Name => ChannelName;

    /// <summary>Delivers one notification. A transient Slack failure (rate limit exhausted, 5xx) throws so the
    /// activity retries; a permanent one (<c>channel_not_found</c>, <c>invalid_auth</c>...) is logged and skipped for
    /// that target, since no retry can fix it and the other targets should still be told.</summary>
    public async Task DeliverAsync(Notification notification, CancellationToken cancellationToken = default)
    {
        using var _ = await _locks.AcquireAsync(notification.Request.Id, cancellationToken);
        if (notification.Kind is NotificationKind.BreakGlass or NotificationKind.BreakGlassUnreviewed)
        {
            await AlertAsync(notification, cancellationToken);
            return;
        }

        if (notification.Kind == NotificationKind.ApprovalRequested)
        {
            await PostApprovalAsync(notification, cancellationToken);
            await PromptOnCallAsync(notification, cancellationToken);
        }

        if (notification.Kind is not (NotificationKind.Received or NotificationKind.ExpiryReminder or NotificationKind.RevokeFailing))
        {
            await UpdateApprovalsAsync(notification, cancellationToken);
        }

        await DirectMessageAsync(notification, cancellationToken);
    }

    private async Task PostApprovalAsync(Notification n, CancellationToken ct)
    {
        var level = n.Level ?? n.Request.ApprovalLevel;
        var channel = n.Request.Approval.Levels.FirstOrDefault(l => l.Level == level)?.SlackChannel;
        if (string.IsNullOrWhiteSpace(channel))
        {
            return;
        }

        var key = $"slack:{n.Id}:approval:{channel}";
        if (await _refs.IsDoneAsync(key, ct))
        {
            return;
        }

        var existing = await _refs.ListAsync(n.Request.Id, ChannelName, ct);
        if (!existing.Any(r => r.Kind == ApprovalKind && r.Recipient == channel))
        {
            // Two levels prompting the same channel share one message, which every update keeps current.
            var (text, blocks) = SlackMessages.Approval(n.Request);
            try
            {
                var (postedChannel, ts) = await _api.PostMessageAsync(channel, text, blocks, ct);
                await _refs.SaveAsync(new MessageRef(n.Request.Id, ChannelName, channel, ApprovalKind, postedChannel, ts), ct);
                LogPosted(_logger, n.Request.Id, channel);
            }
            catch (SlackApiException e) when (e.IsPermanent)
            {
                LogPermanentFailure(_logger, e.Method, e.Error, n.Request.Id);
                return;
            }
        }

        await _refs.MarkDoneAsync(key, ct);
    }

    /// <summary>
    /// The break-glass alert: a new message in every level's channel and the rule's <c>breakGlass.notify.slackChannel</c>,
    /// and a DM to every approver of every level and every admin who has a Slack user. Each target is recorded as done
    /// once sent, so a retried activity (or a reminder run twice in a day: its id carries the day) sends nothing twice.
    /// </summary>
    private async Task AlertAsync(Notification n, CancellationToken ct)
    {
        var plan = n.Request.Approval;
        var channels = plan.Levels.Select(l => l.SlackChannel).Append(plan.BreakGlass?.SlackChannel)
            .OfType<string>().Where(c => c.Length > 0).Distinct(StringComparer.Ordinal);
        foreach (var channel in channels)
        {
            var key = $"slack:{n.Id}:alert:{channel}";
            // A fresh message per post: Block Kit nodes belong to the request body they were sent in.
            var (text, blocks) = SlackMessages.BreakGlassAlert(n);
            if (!await _refs.IsDoneAsync(key, ct) && await TryAsync(() => _api.PostMessageAsync(channel, text, blocks, ct), n.Request.Id))
            {
                await _refs.MarkDoneAsync(key, ct);
            }
        }

        foreach (var email in plan.BreakGlass?.Alerted ?? [])
        {
            var key = $"slack:{n.Id}:alert:{email}";
            if (await _refs.IsDoneAsync(key, ct))
            {
                continue;
            }

            if (await _users.UserIdOfAsync(email, ct) is not { } userId)
            {
                LogNoSlackUserToAlert(_logger, n.Request.Id);
                await _refs.MarkDoneAsync(key, ct);
                continue;
            }

            var (dmText, dmBlocks) = SlackMessages.BreakGlassAlert(n);
            if (await TryAsync(async () => await _api.PostMessageAsync(await _api.OpenDirectMessageAsync(userId, ct), dmText, dmBlocks, ct), n.Request.Id))
            {
                await _refs.MarkDoneAsync(key, ct);
            }
        }
    }

    /// <summary>
    /// A level reached through PagerDuty (<c>pagerDutyEscalationPolicy</c>): each on-call responder gets the approver
    /// message, with its buttons, as a DM. Each DM is remembered like a channel's approval message, so every later
    /// change replaces it in place, and recorded as done once sent.
    /// </summary>
    private async Task PromptOnCallAsync(Notification n, CancellationToken ct)
    {
        var level = n.Level ?? n.Request.ApprovalLevel;
        foreach (var email in n.Request.Approval.Levels.FirstOrDefault(l => l.Level == level)?.OnCallApprovers ?? [])
        {
            var key = $"slack:{n.Id}:oncall:{email}";
            if (await _refs.IsDoneAsync(key, ct))
            {
                continue;
            }

            if (await _users.UserIdOfAsync(email, ct) is not { } userId)
            {
                LogNoSlackUserToAlert(_logger, n.Request.Id);
                await _refs.MarkDoneAsync(key, ct);
                continue;
            }

            var (text, blocks) = SlackMessages.Approval(n.Request);
            if (await TryAsync(
                async () =>
                {
                    var (dm, ts) = await _api.PostMessageAsync(await _api.OpenDirectMessageAsync(userId, ct), text, blocks, ct);
                    await _refs.SaveAsync(new MessageRef(n.Request.Id, ChannelName, email, ApprovalKind, dm, ts), ct);
                },
                n.Request.Id))
            {
                await _refs.MarkDoneAsync(key, ct);
            }
        }
    }

    private async Task UpdateApprovalsAsync(Notification n, CancellationToken ct)
    {
        var refs = await _refs.ListAsync(n.Request.Id, ChannelName, ct);
        foreach (var r in refs.Where(r => r.Kind == ApprovalKind))
        {
            var key = $"slack:{n.Id}:update:{r.Address}:{r.MessageId}";
            if (await _refs.IsDoneAsync(key, ct))
            {
                continue;
            }

            var (text, blocks) = SlackMessages.Approval(n.Request);
            if (await TryAsync(() => _api.UpdateMessageAsync(r.Address, r.MessageId, text, blocks, ct), n.Request.Id))
            {
                await _refs.MarkDoneAsync(key, ct);
            }
        }
    }

    private async Task DirectMessageAsync(Notification n, CancellationToken ct)
    {
        var message = SlackMessages.RequesterMessage(n);
        if (message is null)
        {
            return;
        }

        var key = $"slack:{n.Id}:dm";
        if (await _refs.IsDoneAsync(key, ct))
        {
            return;
        }

        var requester = n.Request.Requester;
        var userId = await _users.UserIdOfAsync(requester, ct);
        if (userId is null)
        {
            LogNoSlackUser(_logger, n.Request.Id);
            await _refs.MarkDoneAsync(key, ct);
            return;
        }

        if (n.Request.Status != RequestStatus.Pending)
        {
            // Decided or cancelled: the Cancel button of the "received" DM goes away.
            await ReplaceDmsAsync(n.Request.Id, ReceivedDmKind, SlackMessages.ReceivedDmClosed(n.Request), ct);
        }

        if (n.Kind == NotificationKind.Extended && SlackMessages.RequesterMessage(n with { Kind = NotificationKind.Active }) is { } activeDm)
        {
            // The active-grant DM shows the new expiry in place.
            await ReplaceDmsAsync(n.Request.Id, ActiveDmKind, activeDm, ct);
        }

        if (n.Kind == NotificationKind.Ended)
        {
            // The grant is over: the Relinquish button of the active DM goes away.
            var refs = await _refs.ListAsync(n.Request.Id, ChannelName, ct);
            foreach (var r in refs.Where(r => r.Kind == ActiveDmKind))
            {
                var (closedText, closedBlocks) = SlackMessages.ActiveDmClosed(n.Request);
                await TryAsync(() => _api.UpdateMessageAsync(r.Address, r.MessageId, closedText, closedBlocks, ct), n.Request.Id);
            }
        }

        var (text, blocks) = message.Value;
        var posted = false;
        await TryAsync(
            async () =>
            {
                var dm = await _api.OpenDirectMessageAsync(userId, ct);
                var (channel, ts) = await _api.PostMessageAsync(dm, text, blocks, ct);
                posted = true;
                if (n.Kind is NotificationKind.Active or NotificationKind.Received)
                {
                    var kind = n.Kind == NotificationKind.Active ? ActiveDmKind : ReceivedDmKind;
                    await _refs.SaveAsync(new MessageRef(n.Request.Id, ChannelName, requester, kind, channel, ts), ct);
                }
            },
            n.Request.Id);
        if (posted)
        {
            await _refs.MarkDoneAsync(key, ct);
        }
    }

    /// <summary>Replaces every DM of <paramref name="kind"/> of the request (chat.update is idempotent).</summary>
    private async Task ReplaceDmsAsync(string requestId, string kind, (string Text, System.Text.Json.Nodes.JsonArray Blocks) message, CancellationToken ct)
    {
        foreach (var r in (await _refs.ListAsync(requestId, ChannelName, ct)).Where(r => r.Kind == kind))
        {
            await TryAsync(() => _api.UpdateMessageAsync(r.Address, r.MessageId, message.Text, message.Blocks, ct), requestId);
        }
    }

    /// <summary>Runs a Slack call; permanent Slack errors are logged and reported as false, anything else throws.</summary>
    private async Task<bool> TryAsync(Func<Task> call, string requestId)
    {
        try
        {
            await call();
            return true;
        }
        catch (SlackApiException e) when (e.IsPermanent)
        {
            LogPermanentFailure(_logger, e.Method, e.Error, requestId);
            return false;
        }
    }

    [LoggerMessage(EventId = 5301, Level = LogLevel.Information, Message = "Posted the approval message of request {RequestId} to Slack channel {Channel}")]
    private static partial void LogPosted(ILogger logger, string requestId, string channel);

    [LoggerMessage(EventId = 5302, Level = LogLevel.Error, Message = "Slack {Method} failed permanently with {Error} for request {RequestId}; skipped")]
    private static partial void LogPermanentFailure(ILogger logger, string method, string error, string requestId);

    [LoggerMessage(EventId = 5303, Level = LogLevel.Warning, Message = "The requester of {RequestId} has no Slack user with their email; no DM sent")]
    private static partial void LogNoSlackUser(ILogger logger, string requestId);

    [LoggerMessage(EventId = 5304, Level = LogLevel.Warning, Message = "A person to alert or prompt about request {RequestId} (break-glass or PagerDuty on call) has no Slack user with their email; no DM sent")]
    private static partial void LogNoSlackUserToAlert(ILogger logger, string requestId);
}
