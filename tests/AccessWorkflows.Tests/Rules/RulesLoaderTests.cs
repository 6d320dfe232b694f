using AccessWorkflows.Requests;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Tests.Rules;

public class RulesLoaderTests
{
    internal const string SpecExample = """
        admins: [secops@example.com]            # may revoke any grant, read everything
        auditors: [audit@example.com]           # may read every request and the audit log
        approverGroups:
          platform-leads: [carol@example.com, dave@example.com]
          security: [erin@example.com]
        accounts:
          - id: "111122223333"
            name: sandbox
            provider: sandbox            # built-in simulated IAM account (section 9); omit for real AWS
          - id: "444455556666"
            name: production
            roleArn: arn:aws:iam::444455556666:role/AccessWorkflowsProvisioner
            externalId: 3f1c...          # optional
            userMapping: { kind: email-tag, tagKey: Email }   # or { kind: user-name-is-email }
        rules:
          - name: readonly
            requesters: ["*@example.com"]          # emails, *@domain, or group:<approverGroup name>
            accounts: ["111122223333", "444455556666"]
            access:
              policies: ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/*ReadOnly*"]
              groups: [Developers]
              resources: ["arn:aws:s3:::team-*"]   # glob on resourceArn; base policies from `policies`
            defaultDuration: PT1H
            maxDuration: PT8H
            requireReason: true
            allowOnBehalfOf: false
            approval:
              onCall: { pagerDutySchedules: [PSCHED1], escalationLevel: 1, duration: PT1H }   # optional
              auto: false                           # true: approved without a person (pre-approved)
              levels:
                - approvers: [group:platform-leads]
                  minApprovals: 1                   # N distinct approvers; any deny denies
                  notify: { slackChannel: C0123ABCD, teamsChannel: "19:abc@thread.tacv2", webhook: true }
                  escalateAfter: PT1H
                - approvers: [group:security]
                  notify: { slackChannel: C0456EFGH }
              approvalWindow: P1D
              allowSelfApproval: false
        """;

    [Fact]
    public void Spec_example_parses_to_the_model()
    {
        var rules = RulesLoader.Parse(SpecExample);

        Assert.Equal(["secops@example.com"], rules.Admins);
        Assert.Equal(["audit@example.com"], rules.Auditors);
        Assert.Equal(["carol@example.com", "dave@example.com"], rules.ApproverGroups["platform-leads"]);
        Assert.Equal(["erin@example.com"], rules.ApproverGroups["security"]);

        Assert.Equal(2, rules.Accounts.Count);
        var sandbox = rules.Accounts[0];
        Assert.Equal(("111122223333", "sandbox", "sandbox", true), (sandbox.Id, sandbox.Name, sandbox.Provider, sandbox.IsSandbox));
        Assert.Null(sandbox.RoleArn);
        Assert.Equal(UserMapping.UserNameIsEmail, sandbox.UserMapping);
        var production = rules.Accounts[1];
        Assert.Equal("444455556666", production.Id);
        Assert.False(production.IsSandbox);
        Assert.Equal("arn:aws:iam::444455556666:role/AccessWorkflowsProvisioner", production.RoleArn);
        Assert.Equal("3f1c...", production.ExternalId);
        Assert.Equal(new UserMapping("email-tag", "Email"), production.UserMapping);

        var rule = Assert.Single(rules.Rules);
        Assert.Equal("readonly", rule.Name);
        Assert.Equal(16, rule.Line);
        Assert.Equal(["*@example.com"], rule.Requesters);
        Assert.Equal(["111122223333", "444455556666"], rule.Accounts);
        Assert.Equal(["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/*ReadOnly*"], rule.Policies);
        Assert.Equal(["Developers"], rule.Groups);
        Assert.Equal(["arn:aws:s3:::team-*"], rule.Resources);
        Assert.Equal(TimeSpan.FromHours(1), rule.DefaultDuration);
        Assert.Equal(TimeSpan.FromHours(8), rule.MaxDuration);
        Assert.True(rule.RequireReason);
        Assert.False(rule.AllowOnBehalfOf);

        var approval = rule.Approval;
        Assert.False(approval.Auto);
        Assert.False(approval.AllowSelfApproval);
        Assert.Equal(TimeSpan.FromDays(1), approval.ApprovalWindow);
        Assert.NotNull(approval.OnCall);
        Assert.Equal(["PSCHED1"], approval.OnCall.PagerDutySchedules);
        Assert.Equal(1, approval.OnCall.EscalationLevel);
        Assert.Equal(TimeSpan.FromHours(1), approval.OnCall.Duration);

        Assert.Equal(2, approval.Levels.Count);
        var first = approval.Levels[0];
        Assert.Equal(["group:platform-leads"], first.Approvers);
        Assert.Equal(1, first.MinApprovals);
        Assert.Equal("C0123ABCD", first.SlackChannel);
        Assert.Equal("19:abc@thread.tacv2", first.TeamsChannel);
        Assert.True(first.Webhook);
        Assert.Equal(TimeSpan.FromHours(1), first.EscalateAfter);
        var second = approval.Levels[1];
        Assert.Equal(["group:security"], second.Approvers);
        Assert.Equal(1, second.MinApprovals);
        Assert.Equal("C0456EFGH", second.SlackChannel);
        Assert.Null(second.TeamsChannel);
        Assert.False(second.Webhook);
        Assert.Null(second.EscalateAfter);
    }

    [Fact]
    public void Sample_file_at_the_repository_root_loads()
    {
        var rules = RulesLoader.Load(Path.Combine(RepositoryRoot(), "access-rules.yaml"));

        var account = Assert.Single(rules.Accounts);
        Assert.Equal(("111122223333", "sandbox"), (account.Id, account.Name));
        Assert.True(account.IsSandbox);
        Assert.Equal(["secops@example.com"], rules.Admins);
        Assert.Equal(["audit@example.com"], rules.Auditors);
        Assert.Equal(["carol@example.com", "dave@example.com"], rules.ApproverGroups["platform-leads"]);
        Assert.Equal(["erin@example.com"], rules.ApproverGroups["security"]);
        Assert.Equal(["demo", "readonly", "admin", "incident-response", "billing-admin", "permission-set-demo"], rules.Rules.Select(r => r.Name));

        var demo = rules.Rules[0];
        Assert.Equal((TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(10), false), (demo.DefaultDuration, demo.MaxDuration, demo.RequireReason));

        var admin = rules.Rules.Single(r => r.Name == "admin");
        Assert.Equal(TimeSpan.FromHours(2), admin.MaxDuration);
        Assert.Equal(2, admin.Approval.Levels[0].MinApprovals);
        Assert.Equal(["group:security"], admin.Approval.Levels[1].Approvers);

        var readonlyRule = rules.Rules.Single(r => r.Name == "readonly");
        Assert.Equal(TimeSpan.FromHours(1), readonlyRule.Approval.Levels[0].EscalateAfter);
        Assert.Equal(["Developers"], readonlyRule.Groups);
    }

    [Fact]
    public void Missing_file_is_an_error_at_line_zero()
    {
        var path = Path.Combine(Path.GetTempPath(), $"no-such-rules-{Guid.NewGuid():N}.yaml");
        var e = Assert.Throws<RulesFileException>(() => RulesLoader.Load(path));
        Assert.Equal(0, e.Line);
        Assert.Contains("does not exist", e.Problem);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Load_names_the_file_in_errors()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rules-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "admins: [nobody]\n");
        try
        {
            var e = Assert.Throws<RulesFileException>(() => RulesLoader.Load(path));
            Assert.Equal($"{Path.GetFileName(path)}:1: admins[0]: must be an email", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("# nothing but a comment\n")]
    [InlineData("admins:\nauditors: ~\napproverGroups:\naccounts: []\nrules: []\n")]
    public void Empty_file_and_sections_get_defaults(string yaml)
    {
        var rules = RulesLoader.Parse(yaml);
        Assert.Empty(rules.Admins);
        Assert.Empty(rules.Auditors);
        Assert.Empty(rules.ApproverGroups);
        Assert.Empty(rules.Accounts);
        Assert.Empty(rules.Rules);
    }

    [Fact]
    public void Omitted_rule_settings_get_defaults_and_emails_are_lower_cased()
    {
        var rules = RulesLoader.Parse(Base.Replace("[secops@example.com]", "[SecOps@Example.COM, secops@example.com]")
            .Replace("[carol@example.com, dave@example.com]", "[Carol@Example.com, dave@example.com]"));

        Assert.Equal(["secops@example.com"], rules.Admins);
        Assert.Equal(["carol@example.com", "dave@example.com"], rules.ApproverGroups["leads"]);
        var rule = Assert.Single(rules.Rules);
        Assert.Equal(9, rule.Line);
        Assert.Equal(TimeSpan.FromHours(1), rule.DefaultDuration);
        Assert.Equal(TimeSpan.FromHours(8), rule.MaxDuration);
        Assert.False(rule.RequireReason);
        Assert.False(rule.AllowOnBehalfOf);
        Assert.Equal(TimeSpan.FromDays(1), rule.Approval.ApprovalWindow);
        Assert.False(rule.Approval.Auto);
        Assert.Null(rule.Approval.OnCall);
        var level = Assert.Single(rule.Approval.Levels);
        Assert.Equal(1, level.MinApprovals);
        Assert.Null(level.EscalateAfter);
    }

    [Fact]
    public void Auto_rule_needs_no_levels_and_seconds_are_legal()
    {
        var rules = RulesLoader.Parse(Base.Replace(
            "    approval:\n      levels:\n        - approvers: [group:leads]\n",
            "    defaultDuration: PT30S\n    maxDuration: PT90S\n    approval:\n      auto: true\n      approvalWindow: PT45S\n"));

        var rule = Assert.Single(rules.Rules);
        Assert.True(rule.Approval.Auto);
        Assert.Empty(rule.Approval.Levels);
        Assert.Equal(TimeSpan.FromSeconds(30), rule.DefaultDuration);
        Assert.Equal(TimeSpan.FromSeconds(90), rule.MaxDuration);
        Assert.Equal(TimeSpan.FromSeconds(45), rule.Approval.ApprovalWindow);
    }

    [Fact]
    public void Error_message_names_source_line_and_field_path()
    {
        var yaml = Base.Replace(
            "        - approvers: [group:leads]\n",
            "        - approvers: [group:leads]\n          escalateAfter: PT1H\n        - approvers: [carol@example.com]\n          minApprovals: 0\n");
        var e = Assert.Throws<RulesFileException>(() => RulesLoader.Parse(yaml, "access-rules.yaml"));
        Assert.Equal("access-rules.yaml:19: rules[0].approval.levels[1].minApprovals: must be a whole number >= 1", e.Message);
        Assert.Equal(("access-rules.yaml", 19, "rules[0].approval.levels[1].minApprovals"), (e.Source, e.Line, e.Field));
    }

    private const string IdentityCenter =
        "identityCenter:\n" +
        "  instanceArn: \"arn:aws:sso:::instance/ssoins-72230000aaaabbbb\"\n" +
        "  identityStoreId: d-9067000000\n" +
        "  region: eu-west-1\n" +
        "  roleArn: arn:aws:iam::111111111111:role/AccessWorkflowsIdentityCenter\n";

    private const string RealAccount = "  - id: \"444455556666\"\n    name: production\n    roleArn: arn:aws:iam::444455556666:role/AccessWorkflowsProvisioner\n";

    private const string PermissionSetGlob = "      permissionSets: [\"arn:aws:sso:::permissionSet/ssoins-72230000aaaabbbb/ps-*\"]\n";

    [Fact]
    public void Identity_center_and_permission_sets_are_read_and_a_permission_set_request_matches_only_its_glob()
    {
        var yaml = IdentityCenter + Base
            .Replace("accounts:\n", "accounts:\n" + RealAccount, StringComparison.Ordinal)
            .Replace("[\"111122223333\"]", "[\"111122223333\", \"444455556666\"]", StringComparison.Ordinal)
            .Replace(Policies, PermissionSetGlob, StringComparison.Ordinal);

        var rules = RulesLoader.Parse(yaml);

        Assert.Equal(("arn:aws:sso:::instance/ssoins-72230000aaaabbbb", "d-9067000000", "eu-west-1", "111111111111"), (rules.IdentityCenter!.InstanceArn, rules.IdentityCenter.IdentityStoreId, rules.IdentityCenter.Region, rules.IdentityCenter.AsAccount().Id));
        Assert.Equal(["arn:aws:sso:::permissionSet/ssoins-72230000aaaabbbb/ps-*"], rules.Rules[0].PermissionSets);
        Assert.NotNull(rules.Match("alice@example.com", "444455556666", AccessSpec.PermissionSet("arn:aws:sso:::permissionSet/ssoins-72230000aaaabbbb/ps-0123456789abcdef")));
        Assert.Null(rules.Match("alice@example.com", "444455556666", AccessSpec.PermissionSet("arn:aws:sso:::permissionSet/ssoins-99990000aaaabbbb/ps-0123456789abcdef")));
        Assert.Null(rules.Match("alice@example.com", "444455556666", AccessSpec.PermissionSet("arn:aws:sso:::permissionSet/ssoins-72230000aaaabbbb/ps-*")));
    }

    [Fact]
    public void Permission_sets_in_a_real_account_need_the_identity_center_and_its_fields_are_checked()
    {
        var withoutCenter = Base
            .Replace("accounts:\n", "accounts:\n" + RealAccount, StringComparison.Ordinal)
            .Replace("[\"111122223333\"]", "[\"444455556666\"]", StringComparison.Ordinal)
            .Replace(Policies, PermissionSetGlob, StringComparison.Ordinal);
        var missing = Assert.Throws<RulesFileException>(() => RulesLoader.Parse(withoutCenter));
        Assert.Equal("identityCenter", missing.Field);
        Assert.Contains("rule 'r' grants permission sets", missing.Message, StringComparison.Ordinal);

        // The sandbox simulates permission sets without an Identity Center.
        Assert.Single(RulesLoader.Parse(Base.Replace(Policies, PermissionSetGlob, StringComparison.Ordinal)).Rules);

        var badInstance = Assert.Throws<RulesFileException>(() => RulesLoader.Parse(IdentityCenter.Replace("ssoins-72230000aaaabbbb", "ssoins-x", StringComparison.Ordinal) + Base));
        Assert.Equal(("identityCenter.instanceArn", 2), (badInstance.Field, badInstance.Line));
        var badStore = Assert.Throws<RulesFileException>(() => RulesLoader.Parse(IdentityCenter.Replace("d-9067000000", "store", StringComparison.Ordinal) + Base));
        Assert.Equal("identityCenter.identityStoreId", badStore.Field);
        var notAPermissionSet = Assert.Throws<RulesFileException>(() => RulesLoader.Parse(Base.Replace(Policies, "      permissionSets: [\"arn:aws:iam::aws:policy/*\"]\n", StringComparison.Ordinal)));
        Assert.Equal("rules[0].access.permissionSets[0]", notAPermissionSet.Field);
    }

    /// <summary>A small valid file; every error case below changes one piece of it.</summary>
    internal const string Base =
        "admins: [secops@example.com]\n" +                           // 1
        "approverGroups:\n" +                                        // 2
        "  leads: [carol@example.com, dave@example.com]\n" +         // 3
        "accounts:\n" +                                              // 4
        "  - id: \"111122223333\"\n" +                              // 5
        "    name: sandbox\n" +                                      // 6
        "    provider: sandbox\n" +                                  // 7
        "rules:\n" +                                                 // 8
        "  - name: r\n" +                                            // 9
        "    requesters: [\"*@example.com\"]\n" +                    // 10
        "    accounts: [\"111122223333\"]\n" +                       // 11
        "    access:\n" +                                            // 12
        "      policies: [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"]\n" + // 13
        "    approval:\n" +                                          // 14
        "      levels:\n" +                                          // 15
        "        - approvers: [group:leads]\n";                      // 16

    private const string Policies = "      policies: [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"]\n";
    private const string Approval = "    approval:\n";
    private const string Level = "        - approvers: [group:leads]\n";
    private const string Provider = "    provider: sandbox\n";

    public static TheoryData<string, string, int, string, string> Errors => new()
    {
        // find, replace with, line, field, problem (fragment)
        // --- structure ---
        { "admins: [secops@example.com]\n", "owners: [secops@example.com]\n", 1, "owners", "unknown key; expected one of: admins, auditors, approverGroups, accounts, rules" },
        { "admins: [secops@example.com]\n", "admin: [secops@example.com]\n", 1, "admin", "unknown key; did you mean 'admins'?" },
        { "admins: [secops@example.com]\n", "Admins: [secops@example.com]\n", 1, "Admins", "did you mean 'admins'?" },
        { "admins: [secops@example.com]\n", "admins: [secops@example.com]\nadmins: [audit@example.com]\n", 2, "admins", "duplicate key" },
        { Level, Level + "          minApprovals: 1\n          minApprovals: 2\n", 18, "rules[0].approval.levels[0].minApprovals", "duplicate key" },
        { "admins: [secops@example.com]\n", "admins: &who [secops@example.com]\nauditors: *who\n", 1, "admins", "anchors and aliases are not allowed" },
        { "admins: [secops@example.com]\n", "admins: [secops@example.com\n", 1, "(yaml)", "not valid YAML" },
        { "admins: [secops@example.com]\n", "admins: [secops@example.com]\n---\nadmins: []\n", 2, "(yaml)", "one YAML document" },
        { "admins: [secops@example.com]\n", "admins: secops@example.com\n", 1, "admins", "must be a list" },
        { "admins: [secops@example.com]\n", "admins: [[secops@example.com]]\n", 1, "admins[0]", "must be a single text value" },
        { "    requesters: [\"*@example.com\"]\n", "    requesters: {a: b}\n", 10, "rules[0].requesters", "must be a list" },
        { "rules:\n", "rules:\n  - just text\n", 9, "rules[0]", "must be a mapping" },
        { "    requesters", "    reqesters: [a@example.com]\n    requesters", 10, "rules[0].reqesters", "unknown key" },
        { "admins: [secops@example.com]\n", "admins: [" + Nest + "]\n", 1, "admins[0]" + NestPath, "nested too deeply" },
        // --- people ---
        { "[secops@example.com]", "[secops]", 1, "admins[0]", "must be an email" },
        { "dave@example.com]", "dave]", 3, "approverGroups.leads[1]", "must be an email" },
        { "[carol@example.com, dave@example.com]", "[]", 3, "approverGroups.leads", "at least one email" },
        { "  leads:", "  lead s:", 3, "approverGroups.lead s", "a group name is" },
        // --- accounts ---
        { "\"111122223333\"\n", "\"11112222333\"\n", 5, "accounts[0].id", "12-digit" },
        { Provider, Provider + "  - id: \"111122223333\"\n    name: other\n    provider: sandbox\n", 8, "accounts[1].id", "listed twice" },
        { Provider, Provider + "  - id: \"444455556666\"\n    name: Sandbox\n    provider: sandbox\n", 9, "accounts[1].name", "used twice" },
        { "    name: sandbox\n", "", 5, "accounts[0].name", "is required" },
        { Provider, "    provider: aws\n", 7, "accounts[0].provider", "the only provider is 'sandbox'" },
        { Provider, "", 5, "accounts[0].roleArn", "needs the roleArn" },
        { Provider, "    roleArn: arn:aws:iam::111122223333:user/x\n", 7, "accounts[0].roleArn", "must be an IAM role ARN" },
        { Provider, "    roleArn: arn:aws:iam::444455556666:role/P\n", 7, "accounts[0].roleArn", "must be a role in account 111122223333" },
        { Provider, "    roleArn: arn:aws:iam::111122223333:role/P\n    externalId: \"bad id!\"\n", 8, "accounts[0].externalId", "must be 2-1224" },
        { Provider, Provider + "    roleArn: arn:aws:iam::111122223333:role/P\n", 8, "accounts[0].roleArn", "a sandbox account takes no roleArn" },
        { Provider, Provider + "    userMapping: { kind: email }\n", 8, "accounts[0].userMapping.kind", "must be 'email-tag' or 'user-name-is-email'" },
        { Provider, Provider + "    userMapping: { kind: email-tag }\n", 8, "accounts[0].userMapping.tagKey", "needs the tagKey" },
        { Provider, Provider + "    userMapping: { kind: user-name-is-email, tagKey: Email }\n", 8, "accounts[0].userMapping.tagKey", "only the email-tag mapping" },
        { Provider, Provider + "    userMapping: { kind: email-tag, tagKey: \"a\\tb\" }\n", 8, "accounts[0].userMapping.tagKey", "must be an IAM tag key" },
        // --- rules ---
        { "  - name: r\n    requesters", "  - requesters", 9, "rules[0].name", "is required" },
        { "  - name: r\n", "  - name: \"\"\n", 9, "rules[0].name", "must not be empty" },
        { "  - name: r\n", "  - name: \"r; drop\"\n", 9, "rules[0].name", "a rule name is" },
        { Level, Level + "  - name: R\n    requesters: [a@example.com]\n    accounts: [\"111122223333\"]\n    access: { groups: [x] }\n    approval: { auto: true }\n", 17, "rules[1].name", "used twice" },
        { "\"*@example.com\"", "\"*.example.com\"", 10, "rules[0].requesters[0]", "must be an email, '*@domain' or 'group:<approverGroup>'" },
        { "\"*@example.com\"", "\"*@example\"", 10, "rules[0].requesters[0]", "followed by a domain" },
        { "\"*@example.com\"", "\"group:nobody\"", 10, "rules[0].requesters[0]", "'nobody' is not a group under 'approverGroups'" },
        { "    requesters: [\"*@example.com\"]\n", "    requesters: []\n", 10, "rules[0].requesters", "must not be empty" },
        { "    requesters: [\"*@example.com\"]\n", "", 9, "rules[0].requesters", "is required" },
        { "    accounts: [\"111122223333\"]\n", "    accounts: [\"444455556666\"]\n", 11, "rules[0].accounts[0]", "is not the id of an account" },
        { "    access:\n" + Policies, "", 9, "rules[0].access", "is required" },
        { "    access:\n" + Policies, "    access: {}\n", 12, "rules[0].access", "allows nothing" },
        { Policies, "      policies: [ReadOnlyAccess]\n", 13, "rules[0].access.policies[0]", "starting with 'arn:'" },
        { Policies, "      policies: [\"arn:aws:iam::aws:policy/Read Only\"]\n", 13, "rules[0].access.policies[0]", "glob on policy ARNs" },
        { Policies, Policies + "      groups: [\"Dev ops\"]\n", 14, "rules[0].access.groups[0]", "glob on IAM group names" },
        { Policies, Policies + "      resources: [\"*\"]\n", 14, "rules[0].access.resources[0]", "glob on resource ARNs" },
        { Policies, "      resources: [\"arn:aws:s3:::team-*\"]\n", 13, "rules[0].access.resources", "needs base policies" },
        { Policies, Policies + "      roles: [x]\n", 14, "rules[0].access.roles", "unknown key" },
        // --- durations ---
        { Approval, "    maxDuration: 8h\n" + Approval, 14, "rules[0].maxDuration", "ISO 8601" },
        { Approval, "    maxDuration: P1M\n" + Approval, 14, "rules[0].maxDuration", "no years or months" },
        { Approval, "    maxDuration: PT0S\n" + Approval, 14, "rules[0].maxDuration", "positive ISO 8601" },
        { Approval, "    maxDuration: P400D\n" + Approval, 14, "rules[0].maxDuration", "at most P365D" },
        { Approval, "    defaultDuration: PT9H\n" + Approval, 14, "rules[0].defaultDuration", "must not exceed maxDuration (PT8H)" },
        { Approval, "    defaultDuration: PT1H\n    maxDuration: PT30M\n" + Approval, 14, "rules[0].defaultDuration", "must not exceed maxDuration (PT30M)" },
        { Approval, "    requireReason: yes\n" + Approval, 14, "rules[0].requireReason", "must be true or false" },
        { Approval, "    allowOnBehalfOf: 1\n" + Approval, 14, "rules[0].allowOnBehalfOf", "must be true or false" },
        // --- approval ---
        { Approval + "      levels:\n" + Level, "", 9, "rules[0].approval", "is required" },
        { "      levels:\n" + Level, "      levels: []\n", 15, "rules[0].approval.levels", "needs at least one approval level" },
        { "      levels:\n" + Level, "      auto: false\n", 15, "rules[0].approval.levels", "needs at least one approval level" },
        { "      levels:\n", "      auto: true\n      levels:\n", 16, "rules[0].approval.levels", "'auto: true' approves without asking anyone" },
        { "      levels:\n", "      approvalWindow: PT0S\n      levels:\n", 15, "rules[0].approval.approvalWindow", "positive ISO 8601" },
        { "      levels:\n", "      approvalWindow: [P1D]\n      levels:\n", 15, "rules[0].approval.approvalWindow", "must be a single text value" },
        { "      levels:\n", "      allowSelfApproval: maybe\n      levels:\n", 15, "rules[0].approval.allowSelfApproval", "must be true or false" },
        { Level, "        - approvers: []\n", 16, "rules[0].approval.levels[0].approvers", "must not be empty" },
        { Level, "        - minApprovals: 1\n", 16, "rules[0].approval.levels[0].approvers", "is required" },
        { Level, "        - approvers: [carol]\n", 16, "rules[0].approval.levels[0].approvers[0]", "must be an email or 'group:<approverGroup>'" },
        { Level, "        - approvers: [group:leeds]\n", 16, "rules[0].approval.levels[0].approvers[0]", "'leeds' is not a group" },
        { Level, Level + "          minApprovals: 0\n", 17, "rules[0].approval.levels[0].minApprovals", "must be a whole number >= 1" },
        { Level, Level + "          minApprovals: two\n", 17, "rules[0].approval.levels[0].minApprovals", "must be a whole number >= 1" },
        { Level, Level + "          minApprovals: -1\n", 17, "rules[0].approval.levels[0].minApprovals", "must be a whole number >= 1" },
        { Level, Level + "          minApprovals: 3\n", 17, "rules[0].approval.levels[0].minApprovals", "more than the 2 distinct approver(s)" },
        { Level, "        - approvers: [group:leads, carol@example.com, Dave@example.com]\n          minApprovals: 3\n", 17, "rules[0].approval.levels[0].minApprovals", "more than the 2 distinct" },
        { Level, Level + "          escalateAfter: PT1H\n", 17, "rules[0].approval.levels[0].escalateAfter", "the last level has no next level" },
        { Level, Level + "          escalateAfter: P1D\n" + Level, 17, "rules[0].approval.levels[0].escalateAfter", "must be shorter than approvalWindow (P1D)" },
        { Level, Level + "          escalateAfter: soon\n" + Level, 17, "rules[0].approval.levels[0].escalateAfter", "ISO 8601" },
        { Level, Level + "          notify: { slack: C0123ABCD }\n", 17, "rules[0].approval.levels[0].notify.slack", "did you mean 'slackChannel'?" },
        { Level, Level + "          notify: { slackChannel: \"<!channel>\" }\n", 17, "rules[0].approval.levels[0].notify.slackChannel", "must be a channel id" },
        { Level, Level + "          notify: { webhook: sure }\n", 17, "rules[0].approval.levels[0].notify.webhook", "must be true or false" },
        { Level, Level + "          approver: [erin@example.com]\n", 17, "rules[0].approval.levels[0].approver", "did you mean 'approvers'?" },
        // --- on-call ---
        { "      levels:\n", "      onCall: { escalationLevel: 1, duration: PT1H }\n      levels:\n", 15, "rules[0].approval.onCall.pagerDutySchedules", "is required" },
        { "      levels:\n", "      onCall: { pagerDutySchedules: [\"P-1\"], escalationLevel: 1, duration: PT1H }\n      levels:\n", 15, "rules[0].approval.onCall.pagerDutySchedules[0]", "PagerDuty schedule id" },
        { "      levels:\n", "      onCall: { pagerDutySchedules: [P1], escalationLevel: 0, duration: PT1H }\n      levels:\n", 15, "rules[0].approval.onCall.escalationLevel", "must be a whole number >= 1" },
        { "      levels:\n", "      onCall: { pagerDutySchedules: [P1], duration: PT1H }\n      levels:\n", 15, "rules[0].approval.onCall.escalationLevel", "is required" },
        { "      levels:\n", "      onCall: { pagerDutySchedules: [P1], escalationLevel: 1 }\n      levels:\n", 15, "rules[0].approval.onCall.duration", "is required" },
        { "      levels:\n", "      onCall:\n        pagerDutySchedules: [P1]\n        escalationLevel: 1\n        duration: 1h\n      levels:\n", 18, "rules[0].approval.onCall.duration", "ISO 8601" },
    };

    private const string Nest = "[[[[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]]]]";
    private const string NestPath = "[0][0][0][0][0][0][0][0][0][0][0][0][0][0]";

    [Theory]
    [MemberData(nameof(Errors))]
    public void Every_error_names_its_line_and_field(string find, string replace, int line, string field, string problem)
    {
        Assert.Contains(find, Base);
        var yaml = ReplaceOnce(Base, find, replace);

        var e = Assert.Throws<RulesFileException>(() => RulesLoader.Parse(yaml, "rules.yaml"));

        Assert.Equal((line, field), (e.Line, e.Field));
        Assert.Contains(problem, e.Problem);
        Assert.Equal($"rules.yaml:{line}: {field}: {e.Problem}", e.Message);
    }

    [Fact]
    public void Base_of_the_error_cases_is_valid() => Assert.Single(RulesLoader.Parse(Base).Rules);

    [Fact]
    public void Unquoted_account_id_is_read_as_written()
    {
        var rules = RulesLoader.Parse(Base.Replace("  - id: \"111122223333\"\n", "  - id: 111122223333\n"));
        Assert.Equal("111122223333", Assert.Single(rules.Accounts).Id);
    }

    [Theory]
    [InlineData("- admins\n", 1, "(root)", "must be a mapping")]
    [InlineData("just text\n", 1, "(root)", "must be a mapping")]
    [InlineData("? [a, b]\n: c\n", 1, "(root)", "keys must be plain text")]
    [InlineData("admins: []\nauditors: [a]]\n", 2, "(yaml)", "not valid YAML")]
    [InlineData("admins: []\nauditors: x: y\n", 2, "(yaml)", "not valid YAML")]
    public void Malformed_documents_are_refused(string yaml, int line, string field, string problem)
    {
        var e = Assert.Throws<RulesFileException>(() => RulesLoader.Parse(yaml));
        Assert.Equal((line, field), (e.Line, e.Field));
        Assert.Contains(problem, e.Problem);
    }

    [Fact]
    public void Oversized_text_is_refused_before_parsing()
    {
        var e = Assert.Throws<RulesFileException>(() => RulesLoader.Parse(new string('#', RulesLoader.MaxFileChars + 1)));
        Assert.Equal((0, "(file)"), (e.Line, e.Field));
    }

    private static string ReplaceOnce(string text, string find, string replace)
    {
        var at = text.IndexOf(find, StringComparison.Ordinal);
        return string.Concat(text.AsSpan(0, at), replace, text.AsSpan(at + find.Length));
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AccessWorkflows.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root (AccessWorkflows.sln) not found above " + AppContext.BaseDirectory);
    }
}
