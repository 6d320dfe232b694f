using AccessWorkflows.Rules;

namespace AccessWorkflows.Tests.Rules;

/// <summary>The rules keys of issue #15 parts 3 and 4 (SPEC 13): <c>breakGlass</c> and <c>approval.stages</c>, read,
/// validated with line and field, and frozen into a request's plan.</summary>
public sealed class LifecycleRulesTests
{
    private const string Levels = "      levels:\n        - approvers: [group:leads]\n";
    private const string Approval = "    approval:\n";

    private const string Example = """
        admins: [secops@example.com]
        approverGroups:
          platform-leads: [carol@example.com, dave@example.com]
          security: [erin@example.com, frank@example.com]
        accounts:
          - id: "111122223333"
            name: sandbox
            provider: sandbox
        rules:
          - name: prod-admin
            requesters: ["*@example.com"]
            accounts: ["111122223333"]
            access:
              policies: ["arn:aws:iam::aws:policy/AdministratorAccess"]
            maxDuration: PT4H
            breakGlass: { maxDuration: PT1H, notify: { slackChannel: C0SECOPS, teamsChannel: "19:secops@thread.tacv2" } }
            approval:
              stages:
                - levels: [{ approvers: [group:platform-leads], minApprovals: 1, escalateAfter: PT30M },
                           { approvers: [group:security] }]
                - levels: [{ approvers: [group:security, dave@example.com], minApprovals: 2, notify: { slackChannel: C0SEC }, escalateAfter: PT15M },
                           { pagerDutyEscalationPolicy: PESC123, minApprovals: 1 }]
        """;

    [Fact]
    public void Stages_and_break_glass_parse_and_freeze_into_one_numbered_plan()
    {
        var rules = RulesLoader.Parse(Example);
        var rule = Assert.Single(rules.Rules);

        Assert.Equal(new BreakGlassRule(TimeSpan.FromHours(1), "C0SECOPS", "19:secops@thread.tacv2"), rule.BreakGlass);
        Assert.Empty(rule.Approval.Levels);
        Assert.Equal([2, 2], rule.Approval.Stages.Select(s => s.Levels.Count));

        var plan = rules.ResolvePlan(rule);
        Assert.Equal(2, plan.StageCount);
        Assert.Equal([(1, 1), (2, 1), (3, 2), (4, 2)], plan.Levels.Select(l => (l.Level, l.Stage)));
        Assert.Equal(("PESC123", 0), (plan.Levels[3].PagerDutyEscalationPolicy, plan.Levels[3].Approvers.Count));
        Assert.Null(plan.Levels[2].PagerDutyEscalationPolicy);
        Assert.Equal(["erin@example.com", "frank@example.com", "dave@example.com"], plan.Levels[2].Approvers);
        Assert.Equal((2, "C0SEC", (TimeSpan?)TimeSpan.FromMinutes(15)), (plan.Levels[2].MinApprovals, plan.Levels[2].SlackChannel, plan.Levels[2].EscalateAfter));
        Assert.Equal(TimeSpan.FromMinutes(30), plan.Levels[0].EscalateAfter);
        Assert.Equal(3, plan.FirstLevelOfNextStage(1));
        Assert.Equal(3, plan.FirstLevelOfNextStage(2));
        Assert.Null(plan.FirstLevelOfNextStage(3));
        Assert.Null(plan.FirstLevelOfNextStage(4));

        // Everyone who approves anything, then the admins: who the alert reaches personally.
        Assert.Equal(["carol@example.com", "dave@example.com", "erin@example.com", "frank@example.com", "secops@example.com"], plan.BreakGlass!.Alerted);
        Assert.Equal((TimeSpan.FromHours(1), "C0SECOPS"), (plan.BreakGlass.MaxDuration, plan.BreakGlass.SlackChannel));
    }

    [Fact]
    public void A_rule_with_plain_levels_is_one_stage_and_has_no_break_glass()
    {
        var rules = RulesLoader.Parse(RulesLoaderTests.Base);
        var plan = rules.ResolvePlan(Assert.Single(rules.Rules));

        Assert.Null(plan.BreakGlass);
        Assert.Equal(1, plan.StageCount);
        Assert.All(plan.Levels, l => Assert.Equal(1, l.Stage));
        Assert.Null(plan.FirstLevelOfNextStage(1));
    }

    [Fact]
    public void The_sample_file_shows_break_glass_stages_and_a_pagerduty_level()
    {
        var rules = RulesLoader.Load(Path.Combine(RulesLoaderTests.RepositoryRoot(), "access-rules.yaml"));

        var incident = rules.Rules.Single(r => r.Name == "incident-response");
        Assert.Equal(new BreakGlassRule(TimeSpan.FromHours(1), "C0SECOPS", null), incident.BreakGlass);
        var billing = rules.ResolvePlan(rules.Rules.Single(r => r.Name == "billing-admin"));
        Assert.Equal([(1, 1, (string?)null), (2, 2, null), (3, 2, "PESC123")], billing.Levels.Select(l => (l.Level, l.Stage, l.PagerDutyEscalationPolicy)));
    }

    public static TheoryData<string, string, int, string, string> Errors => new()
    {
        // find, replace with, line, field, problem (fragment)
        { Approval, "    breakGlass: { notify: { slackChannel: C0SECOPS } }\n" + Approval, 14, "rules[0].breakGlass.maxDuration", "is required" },
        { Approval, "    breakGlass: { maxDuration: PT9H }\n" + Approval, 14, "rules[0].breakGlass.maxDuration", "must not exceed the rule's maxDuration (PT8H)" },
        { Approval, "    breakGlass: { maxDuration: soon }\n" + Approval, 14, "rules[0].breakGlass.maxDuration", "ISO 8601" },
        { Approval, "    breakGlass: { maxduration: PT1H }\n" + Approval, 14, "rules[0].breakGlass.maxduration", "did you mean 'maxDuration'?" },
        { Approval, "    breakGlass:\n      maxDuration: PT1H\n      notify: { slack: C0SECOPS }\n" + Approval, 16, "rules[0].breakGlass.notify.slack", "did you mean 'slackChannel'?" },
        { Approval, "    breakGlass:\n      maxDuration: PT1H\n      notify: { slackChannel: \"<!channel>\" }\n" + Approval, 16, "rules[0].breakGlass.notify.slackChannel", "must be a channel id" },
        { Approval, "    breakGlass:\n      maxDuration: PT1H\n      notify: { webhook: true }\n" + Approval, 16, "rules[0].breakGlass.notify.webhook", "expected one of: slackChannel, teamsChannel" },
        { Approval + Levels, "    breakGlass: { maxDuration: PT1H }\n" + Approval + "      auto: true\n", 14, "rules[0].breakGlass", "no glass to break" },
        { Levels, Levels + "      stages:\n        - levels: [{ approvers: [group:leads] }]\n", 17, "rules[0].approval.stages", "either 'levels' (escalation tiers) or 'stages'" },
        { Levels, "      stages: []\n", 15, "rules[0].approval.stages", "at least one stage" },
        { Levels, "      stages:\n        - levels: []\n", 16, "rules[0].approval.stages[0].levels", "at least one approval level" },
        { Levels, "      stages:\n        - { approvers: [group:leads] }\n", 16, "rules[0].approval.stages[0].approvers", "expected one of: levels" },
        { Levels, "      stages:\n        - levels: [{ approvers: [group:leads], escalateAfter: PT1H }]\n        - levels: [{ approvers: [group:leads] }]\n", 16, "rules[0].approval.stages[0].levels[0].escalateAfter", "the last level has no next level" },
        { Levels, "      stages:\n        - levels: [{ approvers: [group:leads] }]\n        - levels: [{ approvers: [group:nobody] }]\n", 17, "rules[0].approval.stages[1].levels[0].approvers[0]", "'nobody' is not a group" },
        { Levels, "      levels:\n        - pagerDutyEscalationPolicy: \"P-1\"\n", 16, "rules[0].approval.levels[0].pagerDutyEscalationPolicy", "must be a PagerDuty escalation policy id" },
        { Levels, "      levels:\n        - minApprovals: 1\n", 16, "rules[0].approval.levels[0].approvers", "is required" },
        { Levels, "      levels:\n        - { pagerDutyEscalationPolicy: PESC1, approvers: [group:nobody] }\n", 16, "rules[0].approval.levels[0].approvers[0]", "'nobody' is not a group" },
        { Levels, "      levels:\n        - { pagerdutyEscalationPolicy: PESC1 }\n", 16, "rules[0].approval.levels[0].pagerdutyEscalationPolicy", "did you mean 'pagerDutyEscalationPolicy'?" },
        { Levels, "      auto: true\n      stages:\n        - levels: [{ approvers: [group:leads] }]\n", 16, "rules[0].approval.stages", "'auto: true' approves without asking anyone: remove the stages" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Every_error_names_its_line_and_field(string find, string replace, int line, string field, string problem)
    {
        Assert.Contains(find, RulesLoaderTests.Base);
        var yaml = RulesLoaderTests.Base.Replace(find, replace, StringComparison.Ordinal);

        var e = Assert.Throws<RulesFileException>(() => RulesLoader.Parse(yaml, "rules.yaml"));

        Assert.Equal((line, field), (e.Line, e.Field));
        Assert.Contains(problem, e.Problem);
        Assert.Equal($"rules.yaml:{line}: {field}: {e.Problem}", e.Message);
    }
}
