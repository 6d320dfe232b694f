using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AccessWorkflows.Requests;
using AccessWorkflows.Teams.Cards;

namespace AccessWorkflows.Teams.Tests;

/// <summary>
/// The card of every state, kept as readable files under Snapshots/ (set UPDATE_SNAPSHOTS=1 to rewrite them after an
/// intended change), each checked against the Adaptive Cards 1.5 schema; and user text never becomes markdown.
/// </summary>
public sealed partial class CardSnapshotTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 14, 9, 0, 0, TimeSpan.Zero);
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The request with what its grant was used for; an event name with markdown shows verbatim.</summary>
    private static AccessRequest WithActivity(AccessRequest r)
    {
        r.RecordActivity(AccessWorkflows.Grants.Activity.GrantActivity.Summarize(r.GrantedAt!.Value, r.EndedAt!.Value,
        [
            new("s3.amazonaws.com", "ListBuckets", r.GrantedAt!.Value.AddMinutes(1), null),
            new("s3.amazonaws.com", "ListBuckets", r.GrantedAt!.Value.AddMinutes(2), null),
            new("iam.amazonaws.com", "CreateUser", r.GrantedAt!.Value.AddMinutes(3), "AccessDenied"),
            new("evil.amazonaws.com", "**Pwn**[x](https://evil.example)", r.GrantedAt!.Value.AddMinutes(4), null),
        ]));
        return r;
    }

    private static AccessRequest Request(RequestStatus status, int minApprovals = 1, string reason = "Investigating INC-1234: billing export stuck")
    {
        var r = new AccessRequest
        {
            Id = "req-7f3a",
            Requester = "alice@example.com",
            AccountId = "111122223333",
            Access = AccessSpec.Policy("arn:aws:iam::aws:policy/ReadOnlyAccess"),
            Duration = TimeSpan.FromHours(2),
            Reason = reason,
            RuleName = "readonly",
            Channel = Channels.Teams,
            Approval = new ApprovalPlan
            {
                Levels =
                [
                    new ApprovalLevelPlan { Level = 1, Approvers = ["carol@example.com", "dave@example.com"], MinApprovals = minApprovals, TeamsChannel = "19:approvers@thread.tacv2" },
                    new ApprovalLevelPlan { Level = 2, Approvers = ["erin@example.com"], TeamsChannel = "19:security@thread.tacv2" },
                ],
                MaxDuration = TimeSpan.FromHours(8),
            },
            CreatedAt = T0,
        };
        r.MarkPending(1);
        if (status == RequestStatus.Pending)
        {
            if (minApprovals > 1)
            {
                r.AddDecision(new DecisionRecord("d1", "carol@example.com", DecisionKind.Approve, TimeSpan.FromHours(1), "fine by me", Channels.Teams, 1, T0.AddMinutes(3)));
            }

            return r;
        }

        if (status is RequestStatus.Denied)
        {
            r.AddDecision(new DecisionRecord("d1", "carol@example.com", DecisionKind.Deny, null, "use the read-only role instead", Channels.Teams, 1, T0.AddMinutes(3)));
            r.End(RequestStatus.Denied, T0.AddMinutes(3), "carol@example.com", "use the read-only role instead");
            return r;
        }

        if (status is RequestStatus.TimedOut)
        {
            r.End(RequestStatus.TimedOut, T0.AddDays(1), "system", "Nobody decided within 1d.");
            return r;
        }

        r.AddDecision(new DecisionRecord("d1", "carol@example.com", DecisionKind.Approve, TimeSpan.FromHours(1), "ok for the incident", Channels.Teams, 1, T0.AddMinutes(3)));
        r.Approve(TimeSpan.FromHours(1), "carol@example.com");
        if (status == RequestStatus.Approved)
        {
            return r;
        }

        if (status == RequestStatus.Failed)
        {
            r.End(RequestStatus.Failed, T0.AddMinutes(4), "system", "IAM user alice@example.com does not exist in 111122223333.");
            return r;
        }

        r.Activate(T0.AddMinutes(4), T0.AddMinutes(64));
        if (status == RequestStatus.Active)
        {
            return r;
        }

        var by = status switch { RequestStatus.Relinquished => "alice@example.com", RequestStatus.Revoked => "secops@example.com", _ => "system" };
        r.End(status, status == RequestStatus.Expired ? T0.AddMinutes(64) : T0.AddMinutes(30), by, status == RequestStatus.Revoked ? "Revoked by an admin: incident closed." : null);
        return r;
    }

    private static readonly string[] RefreshIds = ["29:carol", "29:dave"];

    public static IEnumerable<object[]> States() => Cards.Keys.Select(k => new object[] { k });

    private static readonly Dictionary<string, Func<JsonObject>> Cards = new()
    {
        ["approval-pending"] = () => TeamsCards.Approval(Request(RequestStatus.Pending), withActions: true, RefreshIds),
        ["approval-pending-one-of-two"] = () => TeamsCards.Approval(Request(RequestStatus.Pending, minApprovals: 2), withActions: true, RefreshIds),
        ["approval-refused-self-approval"] = () => TeamsCards.Approval(Request(RequestStatus.Pending), withActions: false, RefreshIds, new CardBanner("You cannot approve your own request.", true)),
        ["approval-approved"] = () => TeamsCards.Approval(Request(RequestStatus.Approved), withActions: true, RefreshIds),
        ["approval-active"] = () => TeamsCards.Approval(Request(RequestStatus.Active), withActions: true, RefreshIds),
        ["approval-denied"] = () => TeamsCards.Approval(Request(RequestStatus.Denied), withActions: true, RefreshIds),
        ["approval-timed-out"] = () => TeamsCards.Approval(Request(RequestStatus.TimedOut), withActions: true, RefreshIds),
        ["approval-expired"] = () => TeamsCards.Approval(Request(RequestStatus.Expired), withActions: true, RefreshIds),
        ["approval-relinquished"] = () => TeamsCards.Approval(Request(RequestStatus.Relinquished), withActions: true, RefreshIds),
        ["approval-revoked"] = () => TeamsCards.Approval(Request(RequestStatus.Revoked), withActions: true, RefreshIds),
        ["approval-failed"] = () => TeamsCards.Approval(Request(RequestStatus.Failed), withActions: true, RefreshIds),
        ["requester-pending"] = () => TeamsCards.Requester(Request(RequestStatus.Pending)),
        ["requester-active"] = () => TeamsCards.Requester(Request(RequestStatus.Active)),
        ["requester-denied"] = () => TeamsCards.Requester(Request(RequestStatus.Denied)),
        ["requester-expired"] = () => TeamsCards.Requester(Request(RequestStatus.Expired)),
        ["approval-expired-with-activity"] = () => TeamsCards.Approval(WithActivity(Request(RequestStatus.Expired)), withActions: true, RefreshIds),
        ["requester-expired-with-activity"] = () => TeamsCards.Requester(WithActivity(Request(RequestStatus.Expired))),
        ["requester-relinquish-refused"] = () => TeamsCards.Requester(Request(RequestStatus.Expired), new CardBanner("The access is not active.", true)),
        ["requester-reminder"] = () => TeamsCards.Reminder(Request(RequestStatus.Active)),
        ["request-form"] = () => TeamsCards.RequestForm([("111122223333", "sandbox")]),
        ["request-form-invalid"] = () => TeamsCards.RequestForm([("111122223333", "sandbox")], new CardBanner("The request is not valid. access.groupName: must be an IAM group name", true)),
        ["request-submitted"] = () => TeamsCards.Submitted(Request(RequestStatus.Pending)),
        ["notice-help"] = () => TeamsCards.Notice("AccessWorkflows", "Type \"request\" to ask for temporary AWS access."),
    };

    [Theory]
    [MemberData(nameof(States))]
    public void Card_matches_its_snapshot(string state)
    {
        var actual = Cards[state]().ToJsonString(Indented).ReplaceLineEndings("\n") + "\n";
        var path = Path.Combine(SnapshotDirectory(), state + ".json");
        if (Environment.GetEnvironmentVariable("UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(path, actual);
        }

        Assert.True(File.Exists(path), $"No snapshot {path}; run with UPDATE_SNAPSHOTS=1 and review it.");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual);
    }

    [Theory]
    [MemberData(nameof(States))]
    public void Card_validates_against_the_adaptive_card_1_5_schema(string state) => CardSchema.AssertValid(Cards[state]());

    [Fact]
    public void Schema_check_rejects_a_broken_card()
    {
        var card = TeamsCards.Requester(Request(RequestStatus.Active));
        card["body"]!.AsArray().Add(new JsonObject { ["type"] = "TextBlock", ["text"] = 42 });
        Assert.NotEmpty(CardSchema.Errors(card));
        var unknown = TeamsCards.Requester(Request(RequestStatus.Active));
        unknown["body"]!.AsArray().Add(new JsonObject { ["type"] = "Input.Rating", ["id"] = "x" });
        Assert.NotEmpty(CardSchema.Errors(unknown));
    }

    [Fact]
    public void Markdown_escaping_neutralises_every_special_character()
    {
        Assert.Equal(@"\*a\* \[b\]\(c\) &lt;d&gt; &amp; \#e \~f\~ \`g\` \\ \_h\_", CardText.Markdown("*a* [b](c) <d> & #e ~f~ `g` \\ _h_"));
        Assert.Equal("line one line two", CardText.Markdown("line one\nline two"));
    }

    [Fact]
    public void Injected_markdown_in_reason_comment_and_names_cannot_forge_links_or_formatting()
    {
        const string evil = "**URGENT** [approve here](https://evil.example/x) <a href=\"https://evil.example\">click</a> # Approved by secops\n> trust me ~~no~~ `code`";
        var r = Request(RequestStatus.Pending, reason: evil);
        r = new AccessRequest
        {
            Id = r.Id,
            Requester = "mal*lory_[x]@example.com",
            AccountId = r.AccountId,
            Access = AccessSpec.Group("Dev_*team*"),
            Duration = r.Duration,
            Reason = evil,
            RuleName = "rule_[x](y)",
            Approval = r.Approval,
            CreatedAt = r.CreatedAt,
        };
        r.MarkPending(1);
        r.AddDecision(new DecisionRecord("d1", "carol@example.com", DecisionKind.Approve, null, evil, Channels.Teams, 1, T0));
        r.Approve(TimeSpan.FromHours(1), "carol_[x](https://evil.example)@example.com");
        r.Activate(T0, T0.AddHours(1));
        r.End(RequestStatus.Relinquished, T0.AddMinutes(5), "**admin**", evil);

        foreach (var (card, showsFreeText) in new[]
        {
            (TeamsCards.Approval(r, true, [], new CardBanner(evil, true)), true),
            (TeamsCards.Requester(r, new CardBanner(evil, false)), true),
            (TeamsCards.Reminder(r), false),
            (TeamsCards.Notice(evil, evil), true),
        })
        {
            CardSchema.AssertValid(card);
            foreach (var markdown in MarkdownStrings(card))
            {
                Assert.DoesNotMatch(UnescapedSpecial(), markdown);
                Assert.DoesNotContain("<", markdown);
                Assert.DoesNotContain(">", markdown);
            }

            // Free text is shown verbatim, in TextRuns (which render no markdown).
            if (showsFreeText)
            {
                Assert.Contains(TextRuns(card), t => t.Contains("[approve here](https://evil.example/x)", StringComparison.Ordinal));
            }
        }
    }

    /// <summary>Every string of the card a Teams client renders as markdown.</summary>
    private static List<string> MarkdownStrings(JsonObject card)
    {
        var found = new List<string>();
        if (card["fallbackText"] is JsonValue f)
        {
            found.Add(f.GetValue<string>());
        }

        void Walk(JsonNode? node)
        {
            if (node is JsonObject o)
            {
                if (o["type"]?.GetValue<string>() == "TextBlock")
                {
                    found.Add(o["text"]!.GetValue<string>());
                }

                if (o["type"]?.GetValue<string>() == "FactSet")
                {
                    foreach (var fact in o["facts"]!.AsArray())
                    {
                        found.Add(fact!["title"]!.GetValue<string>());
                        found.Add(fact["value"]!.GetValue<string>());
                    }
                }

                foreach (var (_, child) in o)
                {
                    Walk(child);
                }
            }
            else if (node is JsonArray a)
            {
                foreach (var child in a)
                {
                    Walk(child);
                }
            }
        }

        Walk(card["body"]);
        return found;
    }

    private static List<string> TextRuns(JsonObject card) =>
        [.. TeamsApprovalFlowTests.Texts(card)];

    /// <summary>A markdown special character not preceded by an escaping backslash. Parentheses are left out: the
    /// cards' own text uses them, and without an unescaped bracket they cannot make a link.</summary>
    [GeneratedRegex(@"(?<!\\)(\\\\)*[*_\[\]#~`]")]
    private static partial Regex UnescapedSpecial();

    private static string SnapshotDirectory([CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "Snapshots");
}
