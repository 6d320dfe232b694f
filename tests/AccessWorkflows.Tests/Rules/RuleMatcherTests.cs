using AccessWorkflows.Requests;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Tests.Rules;

public class RuleMatcherTests
{
    private const string Sandbox = "111122223333";
    private const string Prod = "444455556666";
    private const string Elsewhere = "777788889999";
    private const string ReadOnly = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    private const string S3ReadOnly = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
    private const string S3Full = "arn:aws:iam::aws:policy/AmazonS3FullAccess";
    private const string Admin = "arn:aws:iam::aws:policy/AdministratorAccess";

    private static readonly AccessRules Rules = RulesLoader.Parse("""
        approverGroups:
          leads: [Carol@Example.com, dave@example.com]
          oncall: [frank@corp.example.com]
        accounts:
          - id: "111122223333"
            name: sandbox
            provider: sandbox
          - id: "444455556666"
            name: prod
            roleArn: arn:aws:iam::444455556666:role/Provisioner
          - id: "777788889999"
            name: unused
            provider: sandbox
        rules:
          - name: frank-admin
            requesters: [Frank@corp.example.com]
            accounts: ["444455556666"]
            access:
              policies: [arn:aws:iam::aws:policy/AdministratorAccess]
            maxDuration: PT2H
            approval:
              onCall: { pagerDutySchedules: [PSCHED1, PSCHED2], escalationLevel: 2, duration: PT30M }
              levels:
                - approvers: [group:leads, carol@example.com]
                  minApprovals: 2
                  notify: { slackChannel: C0123ABCD, teamsChannel: "19:abc@thread.tacv2", webhook: true }
                  escalateAfter: PT10M
                - approvers: [erin@example.com, group:oncall]
              approvalWindow: PT1H
              allowSelfApproval: true
          - name: leads-groups
            requesters: [group:leads]
            accounts: ["111122223333"]
            access:
              groups: [Admins*]
            approval: { auto: true }
          - name: s3-scoped
            requesters: ["*@example.com"]
            accounts: ["111122223333"]
            access:
              policies: [arn:aws:iam::aws:policy/AmazonS3*]
              resources: ["arn:aws:s3:::team-*"]
            approval:
              levels: [{ approvers: [group:leads] }]
          - name: catch-all
            requesters: ["*@example.com"]
            accounts: ["111122223333", "444455556666"]
            access:
              policies: [arn:aws:iam::aws:policy/*ReadOnly*]
              groups: [Dev?]
            approval:
              levels: [{ approvers: [group:leads] }]
        """);

    [Theory]
    [InlineData(Sandbox, "s3-scoped")] // both s3-scoped and catch-all allow it: the earlier one wins
    [InlineData(Prod, "catch-all")] // s3-scoped is not for prod
    public void First_matching_rule_wins(string account, string expected)
    {
        var match = Rules.Match("alice@example.com", account, AccessSpec.Policy(S3ReadOnly));
        Assert.NotNull(match);
        Assert.Equal(expected, match.Rule.Name);
        Assert.Equal(account, match.Account.Id);
    }

    [Fact]
    public void A_rule_that_fits_the_requester_but_not_the_access_does_not_stop_the_search()
    {
        Assert.Equal("catch-all", Rules.Match("alice@example.com", Sandbox, AccessSpec.Policy(ReadOnly))?.Rule.Name);
        Assert.Equal("catch-all", Rules.Match("carol@example.com", Sandbox, AccessSpec.Group("Devs"))?.Rule.Name);
        Assert.Equal("leads-groups", Rules.Match("carol@example.com", Sandbox, AccessSpec.Group("Admins-Team"))?.Rule.Name);
    }

    [Fact]
    public void Nothing_matches_what_no_rule_allows()
    {
        Assert.Null(Rules.Match("alice@example.com", Sandbox, AccessSpec.Policy(Admin)));
        Assert.Null(Rules.Match("alice@example.com", Sandbox, AccessSpec.Group("Admins")));
        Assert.Null(Rules.Match("alice@example.com", Sandbox, AccessSpec.Group("Developers")));
        Assert.Null(Rules.Match("alice@example.com", Elsewhere, AccessSpec.Policy(ReadOnly))); // no rule names the account
        Assert.Null(Rules.Match("alice@example.com", "999999999999", AccessSpec.Policy(ReadOnly))); // not an account at all
        Assert.Null(Rules.Match("alice@example.com", "not-an-id", AccessSpec.Policy(ReadOnly)));
    }

    [Theory]
    [InlineData("alice@example.com", true)]
    [InlineData("ALICE@Example.COM", true)]
    [InlineData("alice@sub.example.com", false)] // *@domain is that domain only
    [InlineData("alice@example.com.evil.io", false)]
    [InlineData("alice@notexample.com", false)]
    [InlineData("alice@example.com@evil.io", false)]
    [InlineData("example.com", false)]
    [InlineData("", false)]
    public void Domain_requester_pattern(string requester, bool matches) =>
        Assert.Equal(matches, Rules.Match(requester, Sandbox, AccessSpec.Policy(ReadOnly)) is not null);

    [Fact]
    public void Email_and_group_requester_patterns()
    {
        // Exact email, written with capitals in the file and asked in other capitals.
        Assert.Equal("frank-admin", Rules.Match("FRANK@corp.example.com", Prod, AccessSpec.Policy(Admin))?.Rule.Name);
        Assert.Null(Rules.Match("frank2@corp.example.com", Prod, AccessSpec.Policy(Admin)));

        // group: membership; the group lists Carol with capitals.
        Assert.True(Rules.RequesterMatches(Rules.Rules[1], "carol@EXAMPLE.com"));
        Assert.True(Rules.RequesterMatches(Rules.Rules[1], "dave@example.com"));
        Assert.False(Rules.RequesterMatches(Rules.Rules[1], "erin@example.com"));
        Assert.Null(Rules.Match("erin@example.com", Sandbox, AccessSpec.Group("Admins-Team")));
    }

    [Fact]
    public void Resource_access_needs_both_the_resource_and_the_base_policy()
    {
        Assert.Equal("s3-scoped", Rules.Match("alice@example.com", Sandbox, AccessSpec.Resource("arn:aws:s3:::team-a", S3ReadOnly))?.Rule.Name);
        Assert.Equal("s3-scoped", Rules.Match("alice@example.com", Sandbox, AccessSpec.Resource("arn:aws:s3:::team-a", S3Full))?.Rule.Name);
        // Resource outside the glob.
        Assert.Null(Rules.Match("alice@example.com", Sandbox, AccessSpec.Resource("arn:aws:s3:::payroll", S3ReadOnly)));
        // Base policy outside s3-scoped's policies; catch-all allows ReadOnlyAccess but no resources at all.
        Assert.Null(Rules.Match("alice@example.com", Sandbox, AccessSpec.Resource("arn:aws:s3:::team-a", ReadOnly)));
        // A resource rule's base policies are also allowed as plain policies (SPEC 5: one `policies` list).
        Assert.Equal("s3-scoped", Rules.Match("alice@example.com", Sandbox, AccessSpec.Policy(S3Full))?.Rule.Name);
    }

    [Fact]
    public void Access_that_fails_its_grammar_never_matches_a_glob()
    {
        // A wildcard in the request would satisfy "*ReadOnly*" textually; the grammar refuses it first.
        Assert.Null(Rules.Match("alice@example.com", Sandbox, AccessSpec.Policy("arn:aws:iam::aws:policy/*ReadOnly*")));
        Assert.Null(Rules.Match("alice@example.com", Sandbox, AccessSpec.Resource("arn:aws:s3:::team-*", S3ReadOnly)));
        Assert.Null(Rules.Match("alice@example.com", Sandbox, AccessSpec.Group("Dev*")));
        Assert.Null(Rules.Match("alice@example.com", Sandbox, new AccessSpec { Type = AccessKind.Policy }));
    }

    [Fact]
    public void Allows_checks_the_access_only()
    {
        var rule = new AccessRule
        {
            Name = "hand-built",
            Policies = ["arn:aws:iam::aws:policy/*ReadOnly*"],
            Groups = ["Developers"],
            Resources = ["arn:aws:dynamodb:us-east-1:111122223333:table/orders-*"],
            Approval = new ApprovalRule { Auto = true },
        };
        Assert.True(rule.Allows(AccessSpec.Policy(ReadOnly)));
        Assert.False(rule.Allows(AccessSpec.Policy(Admin)));
        Assert.True(rule.Allows(AccessSpec.Group("Developers")));
        Assert.False(rule.Allows(AccessSpec.Group("developers"))); // group names are matched exactly as written
        Assert.True(rule.Allows(AccessSpec.Resource("arn:aws:dynamodb:us-east-1:111122223333:table/orders-eu", "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess")));
        Assert.False(rule.Allows(AccessSpec.Resource("arn:aws:dynamodb:us-east-1:111122223333:table/users", "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess")));
    }

    [Fact]
    public void RulesFor_and_AccountsFor_follow_the_requester()
    {
        Assert.Equal(["leads-groups", "s3-scoped", "catch-all"], Rules.RulesFor("Carol@example.com").Select(r => r.Name));
        Assert.Equal(["frank-admin"], Rules.RulesFor("frank@corp.example.com").Select(r => r.Name));
        Assert.Empty(Rules.RulesFor("mallory@evil.io"));

        Assert.Equal([Sandbox, Prod], Rules.AccountsFor("alice@example.com").Select(a => a.Id));
        Assert.Equal([Prod], Rules.AccountsFor("frank@corp.example.com").Select(a => a.Id));
        Assert.Empty(Rules.AccountsFor("mallory@evil.io"));
    }

    [Fact]
    public void FilterCandidates_offers_only_what_some_rule_allows()
    {
        string[] policies = [ReadOnly, S3ReadOnly, S3Full, Admin, "arn:aws:iam::aws:policy/*", "not an arn", S3ReadOnly];

        Assert.Equal([ReadOnly, S3ReadOnly, S3Full], Rules.FilterCandidates("alice@example.com", Sandbox, AccessKind.Policy, policies, null));
        Assert.Equal([ReadOnly, S3ReadOnly], Rules.FilterCandidates("alice@example.com", Prod, AccessKind.Policy, policies, ""));
        Assert.Equal([S3ReadOnly, S3Full], Rules.FilterCandidates("alice@example.com", Sandbox, AccessKind.Policy, policies, "s3"));
        Assert.Equal([Admin], Rules.FilterCandidates("frank@corp.example.com", Prod, AccessKind.Policy, policies, "admin"));
        Assert.Empty(Rules.FilterCandidates("frank@corp.example.com", Sandbox, AccessKind.Policy, policies, null));
        Assert.Empty(Rules.FilterCandidates("mallory@evil.io", Sandbox, AccessKind.Policy, policies, null));

        string[] groups = ["Devs", "Developers", "Admins", "Admins-Ops", "Dev*"];
        Assert.Equal(["Devs"], Rules.FilterCandidates("alice@example.com", Sandbox, AccessKind.Group, groups, null));
        Assert.Equal(["Devs", "Admins", "Admins-Ops"], Rules.FilterCandidates("dave@example.com", Sandbox, AccessKind.Group, groups, null));
        Assert.Equal(["Admins-Ops"], Rules.FilterCandidates("dave@example.com", Sandbox, AccessKind.Group, groups, "OPS"));

        string[] resources = ["arn:aws:s3:::team-a", "arn:aws:s3:::payroll", "arn:aws:s3:::team-b"];
        Assert.Equal(["arn:aws:s3:::team-a", "arn:aws:s3:::team-b"], Rules.FilterCandidates("alice@example.com", Sandbox, AccessKind.Resource, resources, null));
        Assert.Equal(["arn:aws:s3:::team-b"], Rules.FilterCandidates("alice@example.com", Sandbox, AccessKind.Resource, resources, "-B"));
        Assert.Empty(Rules.FilterCandidates("alice@example.com", Prod, AccessKind.Resource, resources, null));
    }

    [Fact]
    public void ResolvePlan_expands_groups_and_copies_the_rule()
    {
        var plan = Rules.ResolvePlan(Rules.Rules[0]);

        Assert.False(plan.Auto);
        Assert.True(plan.AllowSelfApproval);
        Assert.Equal(TimeSpan.FromHours(1), plan.ApprovalWindow);
        Assert.Equal(TimeSpan.FromHours(2), plan.MaxDuration);
        Assert.NotNull(plan.OnCall);
        Assert.Equal(["PSCHED1", "PSCHED2"], plan.OnCall.PagerDutySchedules);
        Assert.Equal((2, TimeSpan.FromMinutes(30)), (plan.OnCall.EscalationLevel, plan.OnCall.Duration));

        Assert.Equal([1, 2], plan.Levels.Select(l => l.Level));
        var first = plan.Levels[0];
        Assert.Equal(["carol@example.com", "dave@example.com"], first.Approvers); // group plus a repeat of Carol: distinct, lower-case
        Assert.Equal(2, first.MinApprovals);
        Assert.Equal(("C0123ABCD", "19:abc@thread.tacv2", true), (first.SlackChannel, first.TeamsChannel, first.Webhook));
        Assert.Equal(TimeSpan.FromMinutes(10), first.EscalateAfter);
        var second = plan.Levels[1];
        Assert.Equal(["erin@example.com", "frank@corp.example.com"], second.Approvers);
        Assert.Equal(1, second.MinApprovals);
        Assert.Null(second.SlackChannel);
        Assert.False(second.Webhook);
        Assert.Null(second.EscalateAfter);
    }

    [Fact]
    public void ResolvePlan_of_an_auto_rule_has_no_levels()
    {
        var plan = Rules.ResolvePlan(Rules.Rules[1]);
        Assert.True(plan.Auto);
        Assert.Empty(plan.Levels);
        Assert.Null(plan.OnCall);
        Assert.Equal(TimeSpan.FromHours(8), plan.MaxDuration);
    }

    [Fact]
    public void Sample_file_routes_the_demo_policy_to_the_demo_rule()
    {
        var rules = RulesLoader.Load(Path.Combine(RulesLoaderTests.RepositoryRoot(), "access-rules.yaml"));

        var demo = rules.Match("newcomer@example.com", "111122223333", AccessSpec.Policy(S3ReadOnly));
        Assert.Equal("demo", demo?.Rule.Name);
        Assert.Equal("readonly", rules.Match("newcomer@example.com", "111122223333", AccessSpec.Policy(ReadOnly))?.Rule.Name);
        Assert.Equal("readonly", rules.Match("newcomer@example.com", "111122223333", AccessSpec.Group("Developers"))?.Rule.Name);
        Assert.Equal("readonly", rules.Match("newcomer@example.com", "111122223333", AccessSpec.Resource("arn:aws:s3:::team-data", S3ReadOnly))?.Rule.Name);
        Assert.Equal("admin", rules.Match("newcomer@example.com", "111122223333", AccessSpec.Policy(Admin))?.Rule.Name);
        Assert.Null(rules.Match("someone@elsewhere.org", "111122223333", AccessSpec.Policy(ReadOnly)));
        Assert.Equal("permission-set-demo", rules.Match("newcomer@example.com", "111122223333", AccessSpec.PermissionSet("arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef"))?.Rule.Name);

        var plan = rules.ResolvePlan(demo!.Rule);
        Assert.Equal(["carol@example.com", "dave@example.com"], Assert.Single(plan.Levels).Approvers);
        Assert.Equal(TimeSpan.FromMinutes(10), plan.MaxDuration);

        var admin = rules.ResolvePlan(rules.Rules.Single(r => r.Name == "admin"));
        Assert.Equal(["erin@example.com"], admin.Levels[1].Approvers);
    }
}
