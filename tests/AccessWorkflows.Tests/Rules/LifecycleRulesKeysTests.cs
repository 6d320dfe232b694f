using AccessWorkflows.Requests;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Tests.Rules;

/// <summary>The rule keys of issue #15 parts 1 and 5 (SPEC 13): <c>extension</c>, <c>maxActivePerRequester</c> and
/// <c>maxPendingPerRequester</c>, validated with the line and field like every other key.</summary>
public class LifecycleRulesKeysTests
{
    private const string Approval = "    approval:\n";

    public static TheoryData<string, int, string, string> Errors => new()
    {
        // inserted before the rule's approval (line 14), line, field, problem (fragment)
        { "    maxPendingPerRequester: 0\n", 14, "rules[0].maxPendingPerRequester", "must be a whole number >= 1" },
        { "    maxPendingPerRequester: many\n", 14, "rules[0].maxPendingPerRequester", "must be a whole number >= 1" },
        { "    maxActivePerRequester: -1\n", 14, "rules[0].maxActivePerRequester", "must be a whole number >= 1" },
        { "    maxActivePerRequester: [1]\n", 14, "rules[0].maxActivePerRequester", "must be a single text value" },
        { "    maxPendingPerRequestor: 2\n", 14, "rules[0].maxPendingPerRequestor", "did you mean 'maxPendingPerRequester'?" },
        { "    extension: { maxExtendBy: PT1H }\n", 14, "rules[0].extension.maxExtensions", "is required" },
        { "    extension: { maxExtensions: 2 }\n", 14, "rules[0].extension.maxExtendBy", "is required" },
        { "    extension: { maxExtensions: 0, maxExtendBy: PT1H }\n", 14, "rules[0].extension.maxExtensions", "must be a whole number >= 1" },
        { "    extension:\n      maxExtensions: 2\n      maxExtendBy: 1h\n", 16, "rules[0].extension.maxExtendBy", "ISO 8601" },
        { "    extension: { maxExtensions: 2, maxExtendBy: P1M }\n", 14, "rules[0].extension.maxExtendBy", "no years or months" },
        { "    extension: { maxExtensions: 2, maxExtendBy: PT1H, requireApproval: perhaps }\n", 14, "rules[0].extension.requireApproval", "must be true or false" },
        { "    extension: { maxExtensions: 2, maxExtendBy: PT1H, approvers: [a@example.com] }\n", 14, "rules[0].extension.approvers", "unknown key" },
        { "    extension: PT1H\n", 14, "rules[0].extension", "must be a mapping" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Every_error_names_its_line_and_field(string inserted, int line, string field, string problem)
    {
        var yaml = RulesLoaderTests.Base.Replace(Approval, inserted + Approval, StringComparison.Ordinal);

        var e = Assert.Throws<RulesFileException>(() => RulesLoader.Parse(yaml, "rules.yaml"));

        Assert.Equal((line, field), (e.Line, e.Field));
        Assert.Contains(problem, e.Problem);
        Assert.Equal($"rules.yaml:{line}: {field}: {e.Problem}", e.Message);
    }

    [Fact]
    public void The_keys_parse_to_the_rule_and_the_extension_is_frozen_into_the_plan()
    {
        var yaml = RulesLoaderTests.Base.Replace(
            Approval,
            "    maxActivePerRequester: 1\n    maxPendingPerRequester: 3\n    extension: { maxExtensions: 2, maxExtendBy: PT1H, requireApproval: true }\n" + Approval,
            StringComparison.Ordinal);

        var rules = RulesLoader.Parse(yaml);
        var rule = Assert.Single(rules.Rules);
        Assert.Equal((1, 3), (rule.MaxActivePerRequester, rule.MaxPendingPerRequester));
        Assert.Equal(new ExtensionPlan(2, TimeSpan.FromHours(1), true), rule.Extension);
        Assert.Equal(rule.Extension, rules.ResolvePlan(rule).Extension);
    }

    [Fact]
    public void Without_the_keys_there_are_no_limits_and_no_extensions()
    {
        var rule = Assert.Single(RulesLoader.Parse(RulesLoaderTests.Base).Rules);
        Assert.Null(rule.MaxActivePerRequester);
        Assert.Null(rule.MaxPendingPerRequester);
        Assert.Null(rule.Extension);
        Assert.Equal(new ExtensionPlan(1, TimeSpan.FromMinutes(30), false), RulesLoader.Parse(RulesLoaderTests.Base.Replace(
            Approval, "    extension: { maxExtensions: 1, maxExtendBy: PT30M }\n" + Approval, StringComparison.Ordinal)).Rules[0].Extension);
    }

    [Fact]
    public void The_sample_rules_file_uses_every_new_key()
    {
        var path = Path.Combine(RulesLoaderTests.RepositoryRoot(), "access-rules.yaml");
        var rules = RulesLoader.Load(path);
        Assert.Contains(rules.Rules, r => r.Extension is { RequireApproval: true });
        Assert.Contains(rules.Rules, r => r.Extension is { RequireApproval: false });
        Assert.Contains(rules.Rules, r => r.MaxActivePerRequester is not null);
        Assert.Contains(rules.Rules, r => r.MaxPendingPerRequester is not null);
    }

}
