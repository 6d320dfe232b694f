using System.Globalization;
using System.Text.Json.Nodes;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Teams.Cards;

/// <summary>A line shown on top of a card for the person who acted: a confirmation or the reason of a refusal.</summary>
public sealed record CardBanner(string Text, bool IsError);

/// <summary>Verbs of the <c>Action.Execute</c> actions; the <c>Action.Submit</c> fallbacks carry the same verb in their data.</summary>
public static class CardVerbs
{
    public const string Refresh = "refresh";
    public const string Approve = "approve";
    public const string Deny = "deny";
    public const string Relinquish = "relinquish";

    /// <summary>The requester extends the active grant by the rule's <c>maxExtendBy</c> (reminder and requester card).</summary>
    public const string Extend = "extend";

    /// <summary>The requester cancels their pending request (requester card).</summary>
    public const string Cancel = "cancel";

    /// <summary>An approver decides the pending extension (approval card, while active).</summary>
    public const string ApproveExtension = "approveExtension";
    public const string DenyExtension = "denyExtension";
    public const string SubmitRequest = "submitRequest";
}

/// <summary>
/// The Adaptive Cards (1.5) this product sends to Teams, built as JSON (no AdaptiveCards package). Every user-supplied
/// string goes through <see cref="CardText"/>. The same request always renders the same card, so replaying a
/// notification replaces a card with an identical one.
/// </summary>
public static class TeamsCards
{
    public const string ContentType = "application/vnd.microsoft.card.adaptive";
    public const string PoliciesDataset = "policies";
    public const string GroupsDataset = "groups";

    private static readonly TimeSpan[] StandardDurations =
    [
        TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(4),
        TimeSpan.FromHours(8), TimeSpan.FromHours(12), TimeSpan.FromDays(1), TimeSpan.FromDays(2), TimeSpan.FromDays(7),
    ];

    /// <summary>
    /// The approvers' card. <paramref name="withActions"/> (only while pending) adds the duration, comment and
    /// Approve / Deny; <paramref name="refreshUserIds"/> (Teams user ids of approvers) makes Teams ask the bot for each
    /// approver's own view.
    /// </summary>
    public static JsonObject Approval(AccessRequest r, bool withActions, IReadOnlyList<string> refreshUserIds, CardBanner? banner = null)
    {
        var body = new JsonArray
        {
            Text("Access request", bold: true, size: "Medium"),
            Text(ApprovalStatusLine(r), color: StatusColor(r.Status), spacing: "None"),
        };
        AddBanner(body, banner);
        AddBreakGlass(body, r);
        body.Add(RequestFacts(r, forApprover: true));
        AddReason(body, r.Reason);
        AddDecisions(body, r);
        AddDetail(body, r);

        var actions = new JsonArray();
        withActions &= r.Status == RequestStatus.Pending;
        if (withActions)
        {
            body.Add(DurationInput(r.Duration, r.Approval.MaxDuration, "Duration to grant"));
            body.Add(new JsonObject
            {
                ["type"] = "Input.Text",
                ["id"] = "comment",
                ["label"] = "Comment",
                ["placeholder"] = "Optional",
                ["isMultiline"] = true,
                ["maxLength"] = 500,
            });
            actions.Add(Execute("Approve", CardVerbs.Approve, r.Id, "positive"));
            actions.Add(Execute("Deny", CardVerbs.Deny, r.Id, "destructive"));
        }

        if (r.Status == RequestStatus.Active && r.PendingExtension is { } extension)
        {
            body.Add(Rich(
                $"Extension asked by {extension.RequestedBy}: {AccessDuration.Humanize(extension.Duration)} more" + (string.IsNullOrWhiteSpace(extension.Reason) ? "." : $": {extension.Reason}"),
                color: "Warning"));
            actions.Add(Execute("Approve extension", CardVerbs.ApproveExtension, r.Id, "positive"));
            actions.Add(Execute("Deny extension", CardVerbs.DenyExtension, r.Id, "destructive"));
        }

        var card = Card(body, actions, $"Access request {CardText.Plain(r.Id, 80)}: open Microsoft Teams to see it.");
        if (r.Status == RequestStatus.Pending && refreshUserIds.Count > 0)
        {
            card["refresh"] = new JsonObject
            {
                ["action"] = new JsonObject
                {
                    ["type"] = "Action.Execute",
                    ["title"] = "Refresh",
                    ["verb"] = CardVerbs.Refresh,
                    ["data"] = new JsonObject { ["requestId"] = r.Id },
                },
                // Teams refreshes automatically for at most 60 users.
                ["userIds"] = new JsonArray([.. refreshUserIds.Take(60).Select(id => (JsonNode)id)]),
            };
        }

        return card;
    }

    /// <summary>The requester's card: where the request stands; a Relinquish button while the access is active.</summary>
    public static JsonObject Requester(AccessRequest r, CardBanner? banner = null)
    {
        var body = new JsonArray
        {
            Text("Your access request", bold: true, size: "Medium"),
            Text(RequesterStatusLine(r), color: StatusColor(r.Status), spacing: "None"),
        };
        AddBanner(body, banner);
        body.Add(RequestFacts(r, forApprover: false));
        AddDecisions(body, r);
        AddDetail(body, r);
        var actions = new JsonArray();
        if (r.Status == RequestStatus.Active)
        {
            actions.Add(Execute("Relinquish", CardVerbs.Relinquish, r.Id, "destructive"));
        }

        AddExtend(actions, r);
        if (r.Status == RequestStatus.Pending && r.WorkflowVersion >= 4 && !r.CancelRequested)
        {
            actions.Add(Execute("Cancel request", CardVerbs.Cancel, r.Id, "destructive"));
        }

        return Card(body, actions, $"Your access request {CardText.Plain(r.Id, 80)}: open Microsoft Teams to see it.");
    }

    /// <summary>The break-glass alert (or its daily reminder while unreviewed), for every level's channel, the rule's
    /// extra conversation and the 1:1 chat of every approver and admin the bot knows.</summary>
    public static JsonObject BreakGlassAlert(AccessRequest r, bool unreviewedReminder)
    {
        var reason = r.Decisions.LastOrDefault(d => d.Level == 0 && d.Decision == DecisionKind.Approve)?.Comment;
        var body = new JsonArray
        {
            Text(unreviewedReminder ? "Break-glass still unreviewed" : "Break-glass", bold: true, size: "Medium", color: "Attention"),
            Rich(
                $"{r.Requester} approved their own request {r.Id} for {r.Access.Describe()} in account {r.AccountId}"
                + (unreviewedReminder ? "; it still needs a post-incident review by an approver of the rule or an admin." : "; access is being granted now."),
                spacing: "None"),
        };
        AddReason(body, reason);
        body.Add(RequestFacts(r, forApprover: false));
        return Card(body, [], $"Break-glass: {CardText.Plain(r.Requester, 80)} approved their own access request.");
    }

    /// <summary>Ten minutes before expiry.</summary>
    public static JsonObject Reminder(AccessRequest r)
    {
        var body = new JsonArray
        {
            Text("Your access ends soon", bold: true, size: "Medium"),
            Text($"{CardText.Markdown(r.Access.Describe())} in account {CardText.Markdown(r.AccountId)} ends at {When(r.ExpiresAt)}.", color: "Warning"),
        };
        var actions = new JsonArray();
        AddExtend(actions, r);
        if (r.Status == RequestStatus.Active)
        {
            actions.Add(Execute("Relinquish now", CardVerbs.Relinquish, r.Id, "destructive"));
        }

        return Card(body, actions, "Your access ends soon.");
    }

    /// <summary>Extend by the rule's <c>maxExtendBy</c>, while the grant may still be extended.</summary>
    private static void AddExtend(JsonArray actions, AccessRequest r)
    {
        if (ExtensionRules.Offers(r) && ExtensionRules.ButtonStep(r) is { } step)
        {
            actions.Add(Execute($"Extend by {AccessDuration.Humanize(step)}", CardVerbs.Extend, r.Id, "positive"));
        }
    }

    /// <summary>
    /// The request form (typing <c>request</c>). Policy and group inputs use Teams' dynamic typeahead
    /// (<c>choices.data</c> of type <c>Data.Query</c>, answered by <c>application/search</c> invokes) with the account and
    /// access type as associated inputs.
    /// </summary>
    public static JsonObject RequestForm(IReadOnlyList<(string Id, string Name)> accounts, CardBanner? banner = null)
    {
        var body = new JsonArray { Text("Request AWS access", bold: true, size: "Medium") };
        AddBanner(body, banner);
        body.Add(new JsonObject
        {
            ["type"] = "Input.ChoiceSet",
            ["id"] = "accountId",
            ["label"] = "Account",
            ["isRequired"] = true,
            ["errorMessage"] = "Choose an account",
            ["choices"] = new JsonArray([.. accounts.Select(a => (JsonNode)Choice($"{CardText.Plain(a.Name, 100)} ({a.Id})", a.Id))]),
        });
        body.Add(new JsonObject
        {
            ["type"] = "Input.ChoiceSet",
            ["id"] = "accessType",
            ["label"] = "Access",
            ["value"] = "policy",
            ["choices"] = new JsonArray(Choice("Attach a policy", "policy"), Choice("Join a group", "group"), Choice("A policy on one resource", "resource")),
        });
        body.Add(Typeahead("policyArn", "Policy (for policy and resource access)", PoliciesDataset));
        body.Add(Typeahead("groupName", "Group (for group access)", GroupsDataset));
        body.Add(new JsonObject
        {
            ["type"] = "Input.Text",
            ["id"] = "resourceArn",
            ["label"] = "Resource ARN (for resource access)",
            ["placeholder"] = "arn:aws:s3:::bucket-name",
            ["maxLength"] = 2048,
        });
        body.Add(DurationInput(TimeSpan.FromHours(1), TimeSpan.Zero, "Duration"));
        body.Add(new JsonObject
        {
            ["type"] = "Input.Text",
            ["id"] = "reason",
            ["label"] = "Reason",
            ["isMultiline"] = true,
            ["maxLength"] = Grammar.MaxReasonLength,
        });
        var actions = new JsonArray { Execute("Request access", CardVerbs.SubmitRequest, null, "positive") };
        return Card(body, actions, "Request AWS access: open Microsoft Teams to fill in the form.");
    }

    /// <summary>Shown in place of the form once a request was submitted.</summary>
    public static JsonObject Submitted(AccessRequest r) => Requester(r, new CardBanner($"Request {r.Id} submitted.", false));

    /// <summary>A plain message card (help text, errors without a request).</summary>
    public static JsonObject Notice(string title, string plainText, bool isError = false)
    {
        var body = new JsonArray { Text(CardText.Markdown(title), bold: true) };
        body.Add(Rich(plainText, color: isError ? "Attention" : null));
        return Card(body, [], CardText.Plain(title, 200));
    }

    /// <summary>A message activity carrying one card.</summary>
    public static JsonObject Message(JsonObject card, string? activityId = null)
    {
        var activity = new JsonObject
        {
            ["type"] = "message",
            ["attachments"] = new JsonArray(new JsonObject { ["contentType"] = ContentType, ["content"] = card }),
        };
        if (activityId is not null)
        {
            activity["id"] = activityId;
        }

        return activity;
    }

    /// <summary>The body of the HTTP answer to an <c>adaptiveCard/action</c> invoke (Universal Actions).</summary>
    public static JsonObject InvokeResponse(JsonObject card) => new()
    {
        ["statusCode"] = 200,
        ["type"] = ContentType,
        ["value"] = card,
    };

    /// <summary>Duration choices: the standard ones and the requested one, never above <paramref name="max"/>.</summary>
    public static IReadOnlyList<TimeSpan> DurationChoices(TimeSpan requested, TimeSpan max)
    {
        var set = new SortedSet<TimeSpan>(StandardDurations) { requested };
        return [.. set.Where(d => max <= TimeSpan.Zero || d <= max)];
    }

    private static JsonObject Card(JsonArray body, JsonArray actions, string fallbackText)
    {
        var card = new JsonObject
        {
            ["type"] = "AdaptiveCard",
            ["$schema"] = "http://adaptivecards.io/schemas/adaptive-card.json",
            ["version"] = "1.5",
            ["fallbackText"] = CardText.Markdown(fallbackText),
            ["body"] = body,
        };
        if (actions.Count > 0)
        {
            card["actions"] = actions;
        }

        return card;
    }

    private static JsonObject DurationInput(TimeSpan requested, TimeSpan max, string label)
    {
        var choices = DurationChoices(requested, max);
        var value = max > TimeSpan.Zero && requested > max ? max : requested;
        if (!choices.Contains(value))
        {
            value = choices.Count > 0 ? choices[^1] : value;
        }

        return new JsonObject
        {
            ["type"] = "Input.ChoiceSet",
            ["id"] = "duration",
            ["label"] = label,
            ["value"] = AccessDuration.Format(value),
            ["choices"] = new JsonArray([.. choices.Select(d => (JsonNode)Choice(AccessDuration.Humanize(d), AccessDuration.Format(d)))]),
        };
    }

    private static JsonObject Typeahead(string id, string label, string dataset) => new()
    {
        ["type"] = "Input.ChoiceSet",
        ["id"] = id,
        ["label"] = label,
        ["placeholder"] = "Type to search",
        ["choices"] = new JsonArray(),
        ["choices.data"] = new JsonObject
        {
            ["type"] = "Data.Query",
            ["dataset"] = dataset,
            ["associatedInputs"] = "auto",
        },
    };

    private static JsonObject Execute(string title, string verb, string? requestId, string style)
    {
        var data = new JsonObject();
        if (requestId is not null)
        {
            data["requestId"] = requestId;
        }

        var fallbackData = data.DeepClone().AsObject();
        fallbackData["verb"] = verb;
        return new JsonObject
        {
            ["type"] = "Action.Execute",
            ["title"] = title,
            ["verb"] = verb,
            ["style"] = style,
            ["data"] = data,
            // Clients without Universal Actions send a message activity with this data instead of an invoke.
            ["fallback"] = new JsonObject
            {
                ["type"] = "Action.Submit",
                ["title"] = title,
                ["style"] = style,
                ["data"] = fallbackData,
            },
        };
    }

    private static JsonObject RequestFacts(AccessRequest r, bool forApprover)
    {
        var facts = new JsonArray
        {
            Fact("Request", r.Id),
        };
        if (forApprover)
        {
            facts.Add(Fact("Requester", r.Requester));
        }

        if (r.OnBehalfOf is not null)
        {
            facts.Add(Fact("For", r.OnBehalfOf));
        }

        facts.Add(Fact("Account", r.AccountId));
        facts.Add(Fact("Access", r.Access.Describe()));
        facts.Add(Fact("Duration asked", AccessDuration.Humanize(r.Duration)));
        if (r.GrantedDuration is { } granted)
        {
            facts.Add(Fact("Duration granted", AccessDuration.Humanize(granted)));
        }

        if (r.ExpiresAt is { } expires && r.Status == RequestStatus.Active)
        {
            facts.Add(Fact("Until", When(expires)));
        }

        if (forApprover && r.Status == RequestStatus.Pending)
        {
            var level = r.Approval.Levels.FirstOrDefault(l => l.Level == Math.Max(1, r.ApprovalLevel));
            var approvals = r.Decisions
                .Where(d => d.Decision == DecisionKind.Approve && r.Approval.StageOf(d.Level) == r.ApprovalStage)
                .Select(d => d.Approver).Distinct(StringComparer.OrdinalIgnoreCase).Count();
            facts.Add(Fact("Approvals", $"{approvals} of {level?.MinApprovals ?? 1}"));
        }

        facts.Add(Fact("Rule", r.RuleName));
        return new JsonObject { ["type"] = "FactSet", ["facts"] = facts };
    }

    private static JsonObject Fact(string title, string value) => new() { ["title"] = title, ["value"] = CardText.Markdown(value) };

    private static void AddReason(JsonArray body, string? reason)
    {
        if (!string.IsNullOrWhiteSpace(reason))
        {
            body.Add(Text("Reason", bold: true));
            body.Add(Rich(reason, spacing: "None"));
        }
    }

    private static void AddDecisions(JsonArray body, AccessRequest r)
    {
        foreach (var d in r.Decisions)
        {
            var verb = d.Decision == DecisionKind.Approve ? "approved" : "denied";
            var duration = d.Duration is { } t && d.Decision == DecisionKind.Approve ? $" for {AccessDuration.Humanize(t)}" : string.Empty;
            var text = $"{d.Approver} {verb}{duration} (level {d.Level}, {d.Channel})";
            if (!string.IsNullOrWhiteSpace(d.Comment))
            {
                text += ": " + d.Comment;
            }

            body.Add(Rich(text, color: d.Decision == DecisionKind.Approve ? "Good" : "Attention"));
        }
    }

    private static void AddBreakGlass(JsonArray body, AccessRequest r)
    {
        if (r.BreakGlass)
        {
            var review = r.Review is { } done ? $"reviewed by {done.By}: {done.Comment}" : "post-incident review pending";
            body.Add(new JsonObject
            {
                ["type"] = "Container",
                ["style"] = "attention",
                ["items"] = new JsonArray(Rich($"Break-glass: approved by the requester without approvers; {review}", color: "Attention", bold: true)),
            });
        }
    }

    private static void AddDetail(JsonArray body, AccessRequest r)
    {
        if (!string.IsNullOrWhiteSpace(r.StatusDetail) && r.Status.IsTerminal())
        {
            body.Add(Rich(r.StatusDetail, color: r.Status == RequestStatus.Failed ? "Attention" : null));
        }

        if (r.Activity is { } activity)
        {
            // What the ended grant was used for (CloudTrail): AWS's names, rendered verbatim as a TextRun.
            body.Add(Rich("Used for: " + activity.Describe(), spacing: "Small"));
        }
    }

    private static void AddBanner(JsonArray body, CardBanner? banner)
    {
        if (banner is not null)
        {
            body.Add(new JsonObject
            {
                ["type"] = "Container",
                ["style"] = banner.IsError ? "attention" : "good",
                ["items"] = new JsonArray(Rich(banner.Text, color: banner.IsError ? "Attention" : "Good", bold: true)),
            });
        }
    }

    private static string ApprovalStatusLine(AccessRequest r)
    {
        var by = CardText.Markdown(r.ApprovedBy ?? "an approver");
        var ended = CardText.Markdown(r.EndedBy ?? "system");
        var levels = r.Approval.Levels.Count;
        return r.Status switch
        {
            RequestStatus.Pending when r.Approval.StageCount > 1 =>
                $"Stage {r.ApprovalStage} of {r.Approval.StageCount}: waiting for approval (level {Math.Max(1, r.ApprovalLevel)}), asked by {CardText.Markdown(r.Requester)}",
            RequestStatus.Pending => $"Waiting for approval (level {Math.Max(1, r.ApprovalLevel)} of {Math.Max(1, levels)}), asked by {CardText.Markdown(r.Requester)}",
            RequestStatus.Approved => $"Approved by {by}: being provisioned",
            RequestStatus.Active => $"Approved by {by}, active until {When(r.ExpiresAt)}",
            RequestStatus.Denied => $"Denied by {ended}",
            RequestStatus.TimedOut => $"Timed out: nobody decided within {AccessDuration.Humanize(r.Approval.ApprovalWindow)}",
            RequestStatus.Expired => $"Expired at {When(r.EndedAt)} (approved by {by})",
            RequestStatus.Relinquished => $"Relinquished by {ended} at {When(r.EndedAt)} (approved by {by})",
            RequestStatus.Revoked => $"Revoked by {ended} at {When(r.EndedAt)}",
            RequestStatus.Failed => "Provisioning failed: nothing is left granted",
            RequestStatus.Cancelled => $"Cancelled by the requester at {When(r.EndedAt)}: nothing was granted",
            _ => r.Status.WireName(),
        };
    }

    private static string RequesterStatusLine(AccessRequest r)
    {
        var by = CardText.Markdown(r.ApprovedBy ?? "an approver");
        var ended = CardText.Markdown(r.EndedBy ?? "system");
        return r.Status switch
        {
            RequestStatus.Pending when r.Approval.StageCount > 1 => $"Stage {r.ApprovalStage} of {r.Approval.StageCount}: waiting for approval",
            RequestStatus.Pending => $"Waiting for approval (level {Math.Max(1, r.ApprovalLevel)})",
            RequestStatus.Approved => $"Approved by {by}: being provisioned",
            RequestStatus.Active => $"Active until {When(r.ExpiresAt)} (approved by {by})",
            RequestStatus.Denied => $"Denied by {ended}",
            RequestStatus.TimedOut => "Timed out: nobody decided in time",
            RequestStatus.Expired => $"Expired at {When(r.EndedAt)}",
            RequestStatus.Relinquished => $"You gave it back at {When(r.EndedAt)}",
            RequestStatus.Revoked => $"Revoked by {ended} at {When(r.EndedAt)}",
            RequestStatus.Failed => "Provisioning failed: nothing is left granted",
            RequestStatus.Cancelled => $"You cancelled it at {When(r.EndedAt)}: nothing was granted",
            _ => r.Status.WireName(),
        };
    }

    private static string StatusColor(RequestStatus status) => status switch
    {
        RequestStatus.Pending => "Accent",
        RequestStatus.Approved or RequestStatus.Active => "Good",
        RequestStatus.Denied or RequestStatus.Failed or RequestStatus.Revoked => "Attention",
        _ => "Default",
    };

    private static string When(DateTimeOffset? at) =>
        at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) : "(unknown)";

    /// <summary>A TextBlock; <paramref name="markdownSafe"/> must already be escaped.</summary>
    private static JsonObject Text(string markdownSafe, bool bold = false, string? size = null, string? color = null, string? spacing = null)
    {
        var block = new JsonObject { ["type"] = "TextBlock", ["text"] = markdownSafe, ["wrap"] = true };
        if (bold)
        {
            block["weight"] = "Bolder";
        }

        if (size is not null)
        {
            block["size"] = size;
        }

        if (color is not null)
        {
            block["color"] = color;
        }

        if (spacing is not null)
        {
            block["spacing"] = spacing;
        }

        return block;
    }

    /// <summary>User text as a TextRun: rendered verbatim, no markdown.</summary>
    private static JsonObject Rich(string plain, string? color = null, bool bold = false, string? spacing = null)
    {
        var run = new JsonObject { ["type"] = "TextRun", ["text"] = CardText.Plain(plain, 1200, keepLineBreaks: true) };
        if (color is not null)
        {
            run["color"] = color;
        }

        if (bold)
        {
            run["weight"] = "Bolder";
        }

        var block = new JsonObject { ["type"] = "RichTextBlock", ["inlines"] = new JsonArray(run) };
        if (spacing is not null)
        {
            block["spacing"] = spacing;
        }

        return block;
    }

    private static JsonObject Choice(string title, string value) => new() { ["title"] = title, ["value"] = value };
}
