using AccessWorkflows.OnCall;
using AccessWorkflows.PagerDuty;
using AccessWorkflows.Requests;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace AccessWorkflows.Integrations.Tests.PagerDuty;

/// <summary>The on-call directory through its real entry point (AddPagerDuty + IOnCallDirectory) against the fake.</summary>
public sealed class PagerDutyOnCallDirectoryTests : IAsyncLifetime
{
    private static readonly OnCallPlan Plan = new(["PSCHED1", "PSCHED2"], 1, TimeSpan.FromHours(1));
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;
    private FakePagerDuty _pd = null!;

    public async Task InitializeAsync()
    {
        _pd = await FakePagerDuty.StartAsync();
        _pd.Users.AddRange(
        [
            new("PALICE1", "Alice Example", "alice@example.com"),
            new("PMAL999", "Mal Ice", "malice@example.com"), // the query "alice@example.com" matches her too
            new("PBOB001", "Bob Example", "bob@example.com"),
            new("PCAROL1", "Carol Example", "carol@example.com"),
            new("PDAVE01", "Dave Example", "dave@example.com"),
            new("PERIN01", "Erin Example", "erin@example.com"),
        ]);
        _pd.OnCalls.AddRange(
        [
            new("PMAL999", "PSCHED1", "PPOL1", 1, _now.AddHours(-1), _now.AddHours(1)),
            new("PALICE1", "PSCHED2", "PPOL1", 1, _now.AddHours(-2), _now.AddHours(6)),
            new("PBOB001", "PSCHED1", "PPOL1", 2, _now.AddHours(-2), _now.AddHours(6)), // other escalation level
            new("PCAROL1", "POTHER9", "PPOL9", 1, _now.AddHours(-2), _now.AddHours(6)), // other schedule
            new("PDAVE01", "PSCHED1", "PPOL1", 1, _now.AddHours(-6), _now.AddHours(-1)), // shift already over
        ]);
    }

    public async Task DisposeAsync() => await _pd.DisposeAsync();

    private IOnCallDirectory Directory(Action<Dictionary<string, string?>>? tweak = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["AccessWorkflows:PagerDuty:ApiToken"] = FakePagerDuty.Token,
            ["AccessWorkflows:PagerDuty:ApiBaseUrl"] = _pd.BaseAddress.ToString(),
            ["AccessWorkflows:PagerDuty:RetryDelay"] = "00:00:00.050",
        };
        tweak?.Invoke(settings);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<IOnCallDirectory, NoOnCallDirectory>();
        services.AddPagerDuty(configuration);
        return services.BuildServiceProvider().GetRequiredService<IOnCallDirectory>();
    }

    [Fact]
    public async Task On_call_in_a_plan_schedule_at_the_plan_level_is_on_call_with_the_schedule()
    {
        var answer = await Directory().IsOnCallAsync("Alice@Example.com", Plan, _now);

        Assert.True(answer.OnCall, answer.Detail);
        Assert.Equal("PSCHED2", answer.ScheduleId);
        Assert.Equal("on call in schedule PSCHED2", answer.Detail);
        var oncalls = Assert.Single(_pd.Requests, r => r.StartsWith("/oncalls", StringComparison.Ordinal));
        Assert.Contains("user_ids%5B%5D=PALICE1", oncalls, StringComparison.Ordinal);
        Assert.Contains("schedule_ids%5B%5D=PSCHED1", oncalls, StringComparison.Ordinal);
        Assert.Contains("schedule_ids%5B%5D=PSCHED2", oncalls, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_first_responders_of_an_escalation_policy_are_its_level_1_users_on_call_now_by_email_across_pages()
    {
        _pd.MaxPageSize = 1; // every entry on its own page: the directory must follow more/offset
        _pd.OnCalls.AddRange(
        [
            new("PERIN01", null, "PESC123", 1, null, null), // on the policy directly, always on call
            new("PCAROL1", "PSCHED7", "PESC123", 1, _now.AddHours(-1), _now.AddHours(1)),
            new("PDAVE01", "PSCHED7", "PESC123", 2, _now.AddHours(-1), _now.AddHours(1)), // second line: not a first responder
            new("PBOB001", "PSCHED7", "PESC123", 1, _now.AddHours(1), _now.AddHours(2)), // not yet
        ]);

        var emails = await Directory().OnCallResponderEmailsAsync("PESC123", _now);

        Assert.Equal(["erin@example.com", "carol@example.com"], emails);
        var asked = _pd.Requests.Where(r => r.StartsWith("/oncalls", StringComparison.Ordinal)).ToList();
        Assert.True(asked.Count >= 3, "followed the pages");
        Assert.All(asked, r => Assert.Contains("escalation_policy_ids%5B%5D=PESC123", r, StringComparison.Ordinal));
        Assert.All(asked, r => Assert.Contains("include%5B%5D=users", r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failing_responder_lookup_throws_so_the_activity_retries_and_never_names_anyone()
    {
        _pd.OnCalls.Add(new("PERIN01", null, "PESC123", 1, null, null));
        _pd.AlwaysFail = true;

        await Assert.ThrowsAsync<AccessWorkflows.PagerDuty.Api.PagerDutyApiException>(() => Directory().OnCallResponderEmailsAsync("PESC123", _now));
    }

    [Fact]
    public async Task On_call_at_another_escalation_level_is_not_on_call()
    {
        var answer = await Directory().IsOnCallAsync("bob@example.com", Plan, _now);

        Assert.False(answer.OnCall);
        Assert.Null(answer.ScheduleId);
        Assert.Contains("escalation level 1", answer.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_call_in_a_schedule_the_rule_does_not_name_is_not_on_call()
    {
        var answer = await Directory().IsOnCallAsync("carol@example.com", Plan, _now);

        Assert.False(answer.OnCall);
    }

    [Fact]
    public async Task A_shift_that_is_over_is_not_on_call()
    {
        var answer = await Directory().IsOnCallAsync("dave@example.com", Plan, _now);

        Assert.False(answer.OnCall);
    }

    [Fact]
    public async Task A_requester_pagerduty_does_not_know_is_not_on_call_even_when_the_query_matches_someone_else()
    {
        var unknown = await Directory().IsOnCallAsync("nobody@example.com", Plan, _now);
        var substringOnly = await Directory().IsOnCallAsync("ice@example.com", Plan, _now);

        Assert.False(unknown.OnCall);
        Assert.Contains("no PagerDuty user", unknown.Detail, StringComparison.Ordinal);
        Assert.False(substringOnly.OnCall); // "alice" and "malice" both contain it; neither is this person
        Assert.DoesNotContain(_pd.Requests, r => r.StartsWith("/oncalls", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_entry_that_counts_is_found_on_a_later_page()
    {
        _pd.MaxPageSize = 2;
        _pd.OnCalls.InsertRange(0,
        [
            new("PERIN01", "PSCHED1", "PPOL1", 2, _now.AddHours(-1), _now.AddHours(1)),
            new("PERIN01", "PSCHED1", "PPOL1", 3, _now.AddHours(-1), _now.AddHours(1)),
            new("PERIN01", "PSCHED2", "PPOL2", 2, _now.AddHours(-1), _now.AddHours(1)),
        ]);
        _pd.OnCalls.Add(new("PERIN01", "PSCHED1", "PPOL1", 1, _now.AddHours(-1), _now.AddHours(1)));

        var answer = await Directory().IsOnCallAsync("erin@example.com", Plan, _now);

        Assert.True(answer.OnCall, answer.Detail);
        Assert.Equal("PSCHED1", answer.ScheduleId);
        Assert.Contains(_pd.Requests, r => r.StartsWith("/oncalls", StringComparison.Ordinal) && r.Contains("offset=2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_throttled_call_is_retried_after_the_wait_pagerduty_names()
    {
        _pd.ThrottleNext(retryAfterSeconds: 1);

        var answer = await Directory().IsOnCallAsync("alice@example.com", Plan, _now);

        Assert.True(answer.OnCall, answer.Detail);
        Assert.Equal(2, _pd.Count("/users"));
    }

    [Fact]
    public async Task A_passing_server_error_is_retried()
    {
        _pd.FailNext(2);

        var answer = await Directory().IsOnCallAsync("alice@example.com", Plan, _now);

        Assert.True(answer.OnCall, answer.Detail);
        Assert.Equal(3, _pd.Count("/users"));
    }

    [Fact]
    public async Task PagerDuty_failing_never_approves()
    {
        _pd.AlwaysFail = true;

        var answer = await Directory().IsOnCallAsync("alice@example.com", Plan, _now);

        Assert.False(answer.OnCall);
        Assert.Contains("HTTP 500", answer.Detail, StringComparison.Ordinal);
        Assert.Equal(4, _pd.Count("/users")); // the first attempt and three retries
    }

    [Fact]
    public async Task A_throttle_longer_than_the_budget_is_not_waited_for_and_never_approves()
    {
        _pd.ThrottleNext(retryAfterSeconds: 3600);

        var answer = await Directory().IsOnCallAsync("alice@example.com", Plan, _now);

        Assert.False(answer.OnCall);
        Assert.Contains("HTTP 429", answer.Detail, StringComparison.Ordinal);
        Assert.Equal(1, _pd.Count("/users"));
    }

    [Fact]
    public async Task PagerDuty_hanging_times_out_and_never_approves()
    {
        _pd.Hang = true;
        var directory = Directory(s =>
        {
            s["AccessWorkflows:PagerDuty:Timeout"] = "00:00:02";
            s["AccessWorkflows:PagerDuty:AttemptTimeout"] = "00:00:00.300";
        });

        var answer = await directory.IsOnCallAsync("alice@example.com", Plan, _now);

        Assert.False(answer.OnCall);
        Assert.True(_pd.Count("/users") >= 2, "attempts that time out are retried within the budget");
    }

    [Fact]
    public async Task PagerDuty_unreachable_never_approves()
    {
        var gone = _pd.BaseAddress;
        await _pd.DisposeAsync();
        var directory = Directory(s => s["AccessWorkflows:PagerDuty:ApiBaseUrl"] = gone.ToString());

        var answer = await directory.IsOnCallAsync("alice@example.com", Plan, _now);

        Assert.False(answer.OnCall);
        Assert.Contains("could not be reached", answer.Detail, StringComparison.Ordinal);
        _pd = await FakePagerDuty.StartAsync(); // for DisposeAsync
    }

    [Fact]
    public async Task A_rejected_token_never_approves_and_is_not_retried()
    {
        var directory = Directory(s => s["AccessWorkflows:PagerDuty:ApiToken"] = "wrong-token");

        var answer = await directory.IsOnCallAsync("alice@example.com", Plan, _now);

        Assert.False(answer.OnCall);
        Assert.Contains("HTTP 401", answer.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-token", answer.Detail, StringComparison.Ordinal);
        Assert.Equal(1, _pd.Count("/users"));
    }

    [Fact]
    public async Task Without_a_token_nothing_is_registered_and_the_host_default_stays()
    {
        var services = new ServiceCollection().AddLogging().AddSingleton<IOnCallDirectory, NoOnCallDirectory>();
        services.AddPagerDuty(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AccessWorkflows:PagerDuty:ApiBaseUrl"] = _pd.BaseAddress.ToString(),
        }).Build());

        var directory = services.BuildServiceProvider().GetRequiredService<IOnCallDirectory>();

        Assert.IsType<NoOnCallDirectory>(directory);
        Assert.False((await directory.IsOnCallAsync("alice@example.com", Plan, _now)).OnCall);
        Assert.Empty(_pd.Requests);
    }

    [Fact]
    public async Task A_plan_without_schedules_asks_nothing()
    {
        var answer = await Directory().IsOnCallAsync("alice@example.com", Plan with { PagerDutySchedules = [] }, _now);

        Assert.False(answer.OnCall);
        Assert.Empty(_pd.Requests);
    }

    [Fact]
    public async Task Two_pagerduty_users_with_the_requesters_email_are_ambiguous_and_never_approve()
    {
        _pd.Users.Add(new("PALICE2", "Alice Again", "ALICE@example.com"));

        var answer = await Directory().IsOnCallAsync("alice@example.com", Plan, _now);

        Assert.False(answer.OnCall);
    }
}
