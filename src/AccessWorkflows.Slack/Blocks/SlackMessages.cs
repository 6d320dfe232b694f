using System.Globalization;
using System.Text.Json.Nodes;
using AccessWorkflows.Notifications;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Slack.Blocks;

/// <summary>
/// The Block Kit messages: the approver message (one per notified channel, replaced in place on every change) and
/// the requester's DMs. Every piece of request data is escaped with <see cref="Mrkdwn.Escape"/>; the only markup
/// here is the product's own.
/// </summary>
public static class SlackMessages
{
    public const string ApproveAction = "approve";
    public const string DenyAction = "deny";
    public const string DurationAction = "duration";
    public const string RelinquishAction = "relinquish";

    /// <summary>The requester's Extend button (expiry reminder): extends by the rule's <c>maxExtendBy</c>.</summary>
    public const string ExtendAction = "extend";

    /// <summary>The requester's Cancel button (the "received" DM, while pending).</summary>
    public const string CancelAction = "cancel";

    /// <summary>Approvers' buttons on a pending extension (approval message, while active).</summary>
    public const string ApproveExtensionAction = "extension_approve";
    public const string DenyExtensionAction = "extension_deny";
    public const string DecideBlock = "decide";

    /// <summary>The approver message's optional comment input: Approve sends it with the decision, Deny starts its
    /// modal from it.</summary>
    public const string CommentBlock = "decision_comment";
    public const string CommentAction = "comment";

    /// <summary>Durations offered to approvers, filtered to the plan's maximum.</summary>
    private static readonly TimeSpan[] StandardDurations =
    [
        TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromHours(2),
        TimeSpan.FromHours(4), TimeSpan.FromHours(8), TimeSpan.FromHours(12), TimeSpan.FromDays(1),
        TimeSpan.FromDays(3), TimeSpan.FromDays(7),
    ];

    /// <summary>The approver message for the request as it stands.</summary>
    public static (string Text, JsonArray Blocks) Approval(AccessRequest request)
    {
        var summary = $"{Mrkdwn.Escape(request.Requester)} requests {Mrkdwn.Escape(request.Access.Describe())} in account {Mrkdwn.Escape(request.AccountId)}";
        var blocks = new JsonArray
        {
            Section($"*Access request* `{Mrkdwn.Escape(request.Id)}`\n{summary}"),
            new JsonObject
            {
                ["type"] = "section",
                ["fields"] = new JsonArray
                {
                    Text($"*Requester*\n{Mrkdwn.Escape(request.Requester)}" + (request.OnBehalfOf is null ? string.Empty : $" for {Mrkdwn.Escape(request.OnBehalfOf)}")),
                    Text($"*Account*\n{Mrkdwn.Escape(request.AccountId)}"),
                    Text($"*Access*\n{Mrkdwn.EscapeTruncated(request.Access.Describe(), 1900)}"),
                    Text($"*Duration*\n{AccessDuration.Humanize(request.Duration)}"),
                    Text($"*Rule*\n{Mrkdwn.Escape(request.RuleName)}"),
                    Text($"*Status*\n{request.Status.WireName()}"),
                },
            },
            Section($"*Reason*\n{(string.IsNullOrWhiteSpace(request.Reason) ? "_none given_" : Mrkdwn.EscapeTruncated(request.Reason, 2900))}"),
        };

        foreach (var d in request.Decisions)
        {
            var verb = d.Decision == DecisionKind.Approve ? ":white_check_mark: Approved" : ":x: Denied";
            var extra = d.Duration is { } dd ? $" for {AccessDuration.Humanize(dd)}" : string.Empty;
            var comment = string.IsNullOrWhiteSpace(d.Comment) ? string.Empty : $": {Mrkdwn.EscapeTruncated(d.Comment, 1000)}";
            blocks.Add(Context($"{verb} by {Mrkdwn.Escape(d.Approver)}{extra}{comment}"));
        }

        if (request.BreakGlass)
        {
            blocks.Add(Section(BreakGlassBadge(request)));
        }

        var status = StatusLine(request);
        blocks.Add(Section(status));
        if (request.Status == RequestStatus.Active && request.PendingExtension is { } extension)
        {
            blocks.Add(Section($":hourglass_flowing_sand: *Extension asked* by {Mrkdwn.Escape(extension.RequestedBy)}: {AccessDuration.Humanize(extension.Duration)} more"
                + (string.IsNullOrWhiteSpace(extension.Reason) ? "." : $": {Mrkdwn.EscapeTruncated(extension.Reason, 1000)}")));
            blocks.Add(new JsonObject
            {
                ["type"] = "actions",
                ["block_id"] = "extension",
                ["elements"] = new JsonArray
                {
                    new JsonObject { ["type"] = "button", ["action_id"] = ApproveExtensionAction, ["text"] = Plain("Approve extension"), ["value"] = request.Id, ["style"] = "primary" },
                    new JsonObject { ["type"] = "button", ["action_id"] = DenyExtensionAction, ["text"] = Plain("Deny extension"), ["value"] = request.Id, ["style"] = "danger" },
                },
            });
        }

        if (request.Activity is { } activity)
        {
            // What the ended grant was used for (CloudTrail); service and event names come from AWS: escaped.
            blocks.Add(Context($":mag: Used for: {Mrkdwn.EscapeTruncated(activity.Describe(), 1900)}"));
        }

        if (request.Status == RequestStatus.Pending)
        {
            blocks.Add(SlackModals.Input(CommentBlock, "Comment (optional, sent with Approve or Deny)", new JsonObject
            {
                ["type"] = "plain_text_input",
                ["action_id"] = CommentAction,
                ["multiline"] = true,
                ["max_length"] = Grammar.MaxReasonLength,
            }, optional: true));
            blocks.Add(DecideActions(request));
        }

        return ($"{summary}: {StripMarkup(status)}", blocks);
    }

    /// <summary>The requester's DM for a notification; null when this kind sends none.</summary>
    public static (string Text, JsonArray Blocks)? RequesterMessage(Notification n)
    {
        var r = n.Request;
        var what = $"{Mrkdwn.Escape(r.Access.Describe())} in account {Mrkdwn.Escape(r.AccountId)}";
        string? text = n.Kind switch
        {
            NotificationKind.Received => $":inbox_tray: Your request `{Mrkdwn.Escape(r.Id)}` for {what} ({AccessDuration.Humanize(r.Duration)}) was received.",
            NotificationKind.Active => $":unlock: Approved by {Mrkdwn.Escape(r.ApprovedBy)}: you have {what}, active until {When(r.ExpiresAt)}.",
            NotificationKind.ExpiryReminder => $":hourglass_flowing_sand: Your access to {what} ends {When(r.ExpiresAt)}.",
            NotificationKind.Denied => $":no_entry: Your request for {what} was denied by {Mrkdwn.Escape(n.Actor ?? r.EndedBy)}" + CommentSuffix(n.Comment ?? r.Decisions.LastOrDefault(d => d.Decision == DecisionKind.Deny)?.Comment),
            NotificationKind.TimedOut => $":zzz: Nobody decided on your request for {what} in time; it has timed out.",
            NotificationKind.Ended when r.Status == RequestStatus.Cancelled => $":leftwards_arrow_with_hook: Your request `{Mrkdwn.Escape(r.Id)}` for {what} is cancelled; nothing was granted.",
            NotificationKind.Ended => $":lock: Your access to {what} has ended ({EndDescription(r)}).",
            NotificationKind.ExtensionRequested => $":hourglass: Your extension of {what} by {AccessDuration.Humanize(r.PendingExtension?.Duration ?? TimeSpan.Zero)} is waiting for an approver; it still ends {When(r.ExpiresAt)}.",
            NotificationKind.Extended => $":hourglass_flowing_sand: Your access to {what} is extended: it now ends {When(r.ExpiresAt)}.",
            NotificationKind.ExtensionDenied => $":no_entry: Your extension of {what} was not granted" + (n.Actor is { } by && by != "system" ? $" by {Mrkdwn.Escape(by)}" : string.Empty) + CommentSuffix(n.Comment) + $" It still ends {When(r.ExpiresAt)}.",
            NotificationKind.Failed => $":warning: Your access to {what} could not be granted: {Mrkdwn.EscapeTruncated(r.StatusDetail ?? "provisioning failed", 1000)}. Nothing is left granted.",
            _ => null,
        };
        if (text is null)
        {
            return null;
        }

        var blocks = new JsonArray { Section(text) };
        if (n.Kind == NotificationKind.Received && r.Status == RequestStatus.Pending && r.WorkflowVersion >= 4)
        {
            blocks.Add(RequesterButton(CancelAction, "Cancel request", r.Id, "Cancel this request?", "Nobody will be asked to approve it any more.", "Cancel it", "Keep it"));
        }

        if (n.Kind == NotificationKind.ExpiryReminder && ExtensionRules.Offers(r) && ExtensionRules.ButtonStep(r) is { } step)
        {
            blocks.Add(RequesterButton(ExtendAction, $"Extend by {AccessDuration.Humanize(step)}", r.Id, null, null, null, null, style: "primary"));
        }

        if (n.Kind == NotificationKind.Active && r.Status == RequestStatus.Active)
        {
            blocks.Add(new JsonObject
            {
                ["type"] = "actions",
                ["block_id"] = "relinquish",
                ["elements"] = new JsonArray
                {
                    new JsonObject
                    {
                        ["type"] = "button",
                        ["action_id"] = RelinquishAction,
                        ["text"] = Plain("Relinquish"),
                        ["value"] = r.Id,
                        ["style"] = "danger",
                        ["confirm"] = new JsonObject
                        {
                            ["title"] = Plain("Relinquish access?"),
                            ["text"] = Plain("The permission is removed now."),
                            ["confirm"] = Plain("Relinquish"),
                            ["deny"] = Plain("Keep it"),
                        },
                    },
                },
            });
        }

        return (StripMarkup(text), blocks);
    }

    /// <summary>The "received" DM once the request has left pending: same text, no Cancel button.</summary>
    public static (string Text, JsonArray Blocks) ReceivedDmClosed(AccessRequest r)
    {
        var text = $":inbox_tray: Your request `{Mrkdwn.Escape(r.Id)}` for {Mrkdwn.Escape(r.Access.Describe())} in account {Mrkdwn.Escape(r.AccountId)} ({AccessDuration.Humanize(r.Duration)}) is {r.Status.WireName()}.";
        return (StripMarkup(text), [Section(text)]);
    }

    /// <summary>The break-glass alert (or, for <see cref="NotificationKind.BreakGlassUnreviewed"/>, its daily reminder)
    /// posted to every level's channel, the rule's extra channel and every approver's and admin's DM.</summary>
    public static (string Text, JsonArray Blocks) BreakGlassAlert(Notification n)
    {
        var r = n.Request;
        var what = $"{Mrkdwn.Escape(r.Access.Describe())} in account {Mrkdwn.Escape(r.AccountId)}";
        var reason = r.Decisions.LastOrDefault(d => d.Level == 0 && d.Decision == DecisionKind.Approve)?.Comment ?? n.Comment;
        var granted = r.GrantedDuration is { } g ? AccessDuration.Humanize(g) : AccessDuration.Humanize(r.Duration);
        var text = n.Kind == NotificationKind.BreakGlassUnreviewed
            ? $":rotating_light: *Break-glass still unreviewed*: {Mrkdwn.Escape(r.Requester)} approved their own request `{Mrkdwn.Escape(r.Id)}` for {what} ({granted}). An approver or admin must review it: `POST /api/requests/{Mrkdwn.Escape(r.Id)}/review`."
            : $":rotating_light: *Break-glass*: {Mrkdwn.Escape(r.Requester)} approved their own request `{Mrkdwn.Escape(r.Id)}` for {what} ({granted}); access is being granted now.";
        var blocks = new JsonArray
        {
            Section(text),
            Section($"*Reason*\n{(string.IsNullOrWhiteSpace(reason) ? "_none given_" : Mrkdwn.EscapeTruncated(reason, 2900))}"),
            Context($"Rule {Mrkdwn.Escape(r.RuleName)}. A post-incident review by an approver of the rule or an admin is required."),
        };
        return (StripMarkup(text), blocks);
    }

    /// <summary>The active-grant DM once the grant is over: same text, no Relinquish button.</summary>
    public static (string Text, JsonArray Blocks) ActiveDmClosed(AccessRequest r)
    {
        var text = $":lock: You had {Mrkdwn.Escape(r.Access.Describe())} in account {Mrkdwn.Escape(r.AccountId)}, approved by {Mrkdwn.Escape(r.ApprovedBy)}; it has ended ({EndDescription(r)}).";
        return (StripMarkup(text), [Section(text)]);
    }

    /// <summary>The duration options for an approver: the standard ones up to the plan's maximum, plus the requested one.</summary>
    public static IReadOnlyList<TimeSpan> DurationChoices(AccessRequest request)
    {
        var max = request.Approval.MaxDuration > TimeSpan.Zero ? request.Approval.MaxDuration : request.Duration;
        return [.. StandardDurations.Where(d => d <= max).Append(request.Duration).Where(d => d <= max).Distinct().Order()];
    }

    /// <summary>The break-glass badge of the approver message: who broke the glass, and the review's state.</summary>
    internal static string BreakGlassBadge(AccessRequest r) =>
        $":rotating_light: *Break-glass*: approved by the requester {Mrkdwn.Escape(r.Requester)} without approvers; "
        + (r.Review is { } review
            ? $"reviewed by {Mrkdwn.Escape(review.By)}: {Mrkdwn.EscapeTruncated(review.Comment, 1000)}"
            : "post-incident review pending.");

    internal static string StatusLine(AccessRequest r) => r.Status switch
    {
        RequestStatus.Pending when r.Approval.StageCount > 1 =>
            $":hourglass: Waiting for approval (Stage {r.ApprovalStage} of {r.Approval.StageCount}, level {Math.Max(1, r.ApprovalLevel)}).",
        RequestStatus.Pending => $":hourglass: Waiting for approval (level {Math.Max(1, r.ApprovalLevel)}).",
        RequestStatus.Approved => $":white_check_mark: Approved by {Mrkdwn.Escape(r.ApprovedBy)}; granting access.",
        RequestStatus.Active => $":white_check_mark: Approved by {Mrkdwn.Escape(r.ApprovedBy)}, active until {When(r.ExpiresAt)}.",
        RequestStatus.Denied => $":x: Denied by {Mrkdwn.Escape(r.EndedBy)}" + CommentSuffix(r.Decisions.LastOrDefault(d => d.Decision == DecisionKind.Deny)?.Comment ?? r.StatusDetail),
        RequestStatus.TimedOut => ":zzz: Timed out: nobody decided within the approval window.",
        RequestStatus.Failed => $":warning: Failed: {Mrkdwn.EscapeTruncated(r.StatusDetail ?? "provisioning failed", 1000)}. Nothing is left granted.",
        RequestStatus.Cancelled => $":leftwards_arrow_with_hook: Cancelled by the requester {When(r.EndedAt)}; nothing was granted.",
        _ => $":lock: Ended: {EndDescription(r)}" + (r.ApprovedBy is null ? "." : $" (had been approved by {Mrkdwn.Escape(r.ApprovedBy)})."),
    };

    private static string EndDescription(AccessRequest r) => r.Status switch
    {
        RequestStatus.Expired => $"expired {When(r.EndedAt)}",
        RequestStatus.Relinquished => $"relinquished by {Mrkdwn.Escape(r.EndedBy)} {When(r.EndedAt)}",
        RequestStatus.Revoked => $"revoked by {Mrkdwn.Escape(r.EndedBy)} {When(r.EndedAt)}" + CommentSuffix(r.StatusDetail),
        _ => r.Status.WireName(),
    };

    private static string CommentSuffix(string? comment) =>
        string.IsNullOrWhiteSpace(comment) ? "." : $": {Mrkdwn.EscapeTruncated(comment, 1000)}";

    /// <summary>A time as Slack renders it in each reader's zone, with UTC text as the fallback.</summary>
    private static string When(DateTimeOffset? at)
    {
        if (at is not { } t)
        {
            return "(unknown)";
        }

        var fallback = t.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        return $"<!date^{t.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}^{{date_short_pretty}} {{time}}|{fallback}>";
    }

    private static JsonObject DecideActions(AccessRequest request)
    {
        var choices = DurationChoices(request);
        var options = new JsonArray();
        foreach (var d in choices)
        {
            options.Add(DurationOption(d));
        }

        var elements = new JsonArray
        {
            new JsonObject { ["type"] = "button", ["action_id"] = ApproveAction, ["text"] = Plain("Approve"), ["value"] = request.Id, ["style"] = "primary" },
            new JsonObject { ["type"] = "button", ["action_id"] = DenyAction, ["text"] = Plain("Deny"), ["value"] = request.Id, ["style"] = "danger" },
        };
        if (options.Count > 0)
        {
            elements.Add(new JsonObject
            {
                ["type"] = "static_select",
                ["action_id"] = DurationAction,
                ["placeholder"] = Plain("Duration"),
                ["options"] = options,
                ["initial_option"] = DurationOption(choices.Contains(request.Duration) ? request.Duration : choices[^1]),
            });
        }

        return new JsonObject { ["type"] = "actions", ["block_id"] = DecideBlock, ["elements"] = elements };
    }

    private static JsonObject RequesterButton(string actionId, string title, string requestId, string? confirmTitle, string? confirmText, string? confirm, string? deny, string style = "danger")
    {
        var button = new JsonObject { ["type"] = "button", ["action_id"] = actionId, ["text"] = Plain(title), ["value"] = requestId, ["style"] = style };
        if (confirmTitle is not null)
        {
            button["confirm"] = new JsonObject
            {
                ["title"] = Plain(confirmTitle),
                ["text"] = Plain(confirmText!),
                ["confirm"] = Plain(confirm!),
                ["deny"] = Plain(deny!),
            };
        }

        return new JsonObject { ["type"] = "actions", ["block_id"] = actionId, ["elements"] = new JsonArray { button } };
    }

    internal static JsonObject DurationOption(TimeSpan d) => new() { ["text"] = Plain(AccessDuration.Humanize(d)), ["value"] = AccessDuration.Format(d) };

    internal static JsonObject Section(string mrkdwn) => new() { ["type"] = "section", ["text"] = Text(mrkdwn) };

    internal static JsonObject Context(string mrkdwn) => new() { ["type"] = "context", ["elements"] = new JsonArray { Text(mrkdwn) } };

    internal static JsonObject Text(string mrkdwn) => new() { ["type"] = "mrkdwn", ["text"] = mrkdwn };

    internal static JsonObject Plain(string text) => new() { ["type"] = "plain_text", ["text"] = text, ["emoji"] = true };

    /// <summary>The notification fallback text: the product's own date markup reduced to its fallback. User text
    /// stays escaped.</summary>
    private static string StripMarkup(string mrkdwn)
    {
        var result = mrkdwn;
        int start;
        while ((start = result.IndexOf("<!date^", StringComparison.Ordinal)) >= 0)
        {
            var bar = result.IndexOf('|', start);
            var end = result.IndexOf('>', start);
            if (bar < 0 || end < 0 || bar > end)
            {
                break;
            }

            result = result[..start] + result[(bar + 1)..end] + result[(end + 1)..];
        }

        return result;
    }
}
