using AccessWorkflows.Cli;
using AccessWorkflows.Testing;

namespace AccessWorkflows.Server.Tests;

/// <summary>The <c>aw</c> command line through its real entry point, against the in-process server.</summary>
public sealed class CliTests : IClassFixture<CliTests.Fixture>
{
    private readonly ServerFactory _server;
    private readonly CallCount _calls = new();

    public CliTests(Fixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task A_request_made_from_the_cli_is_approved_listed_and_relinquished_from_the_cli()
    {
        var (code, output, _) = await RunAsync("--user", "zoe@example.com", "request", "--account", Api.Account, "--policy", Api.ReadOnly, "--duration", "1m", "--reason", "on call");
        Assert.Equal(0, code);
        var id = output.Split(' ', 2)[0];
        Assert.Contains($"{id}  pending  zoe@example.com  {Api.ReadOnly} in {Api.Account} for 1m", output);
        await Api.CreatePendingAsyncFor(_server.As("zoe@example.com"), id);

        Assert.Equal(0, (await RunAsync("--user", "carol@example.com", "approve", id, "--duration", "30s", "--comment", "ok")).Code);
        await Api.WaitForStatusAsync(_server.As("zoe@example.com"), id, "active");

        var list = await RunAsync("--user", "zoe@example.com", "list", "--mine");
        Assert.StartsWith("ID ", list.Output);
        var row = Assert.Single(list.Output.Split('\n'), l => l.StartsWith(id, StringComparison.Ordinal));
        Assert.Contains("  active  ", row);
        Assert.Contains("  30s  ", row);

        Assert.Equal(0, (await RunAsync("--user", "zoe@example.com", "relinquish", id)).Code);
        await Api.WaitForStatusAsync(_server.As("zoe@example.com"), id, "relinquished");

        // The store records the status before the workflow's audit entry: wait for the entry, then read it from the CLI.
        await Eventually.Until(() => _server.As("audit@example.com").GetStringAsync($"/api/requests/{id}/audit"), a => a.Contains("request.relinquished", StringComparison.Ordinal), "the relinquish is audited");
        var audit = await RunAsync("--user", "audit@example.com", "audit", id);
        Assert.Contains("request.relinquished", audit.Output);
    }

    [Fact]
    public async Task Extend_from_the_cli_moves_the_expiry_and_a_refusal_prints_the_limit()
    {
        var yara = _server.As("yara@example.com");
        var created = await Api.CreateAsync(yara, Api.PolicyRequest("arn:aws:iam::aws:policy/PowerUserAccess", duration: "PT1M"));
        var active = await Api.WaitForStatusAsync(yara, created.Id, "active");

        var extend = await RunAsync("--user", "yara@example.com", "extend", created.Id, "--duration", "3s", "--reason", "finishing the rollout");
        Assert.Equal(0, extend.Code);
        await Eventually.Until(() => Api.GetAsync(yara, created.Id), r => r.ExpiresAt == active.ExpiresAt!.Value.AddSeconds(3), "the extension applies");
        var show = await RunAsync("--user", "yara@example.com", "show", created.Id);
        Assert.Contains("extension  3s applied (asked by yara@example.com via api", show.Output);

        var tooFar = await RunAsync("--user", "yara@example.com", "extend", created.Id, "--duration", "1h");
        Assert.Equal(1, tooFar.Code);
        Assert.Contains("409", tooFar.Error);
        Assert.Contains("maxExtendBy", tooFar.Error);

        Assert.Equal(0, (await RunAsync("--user", "yara@example.com", "relinquish", created.Id)).Code);
        await Api.WaitForStatusAsync(yara, created.Id, "relinquished");
    }

    [Fact]
    public async Task Cancel_from_the_cli_withdraws_a_pending_request_only_for_its_requester()
    {
        var zack = _server.As("zack@example.com");
        var created = await Api.CreatePendingAsync(zack, Api.PolicyRequest());

        var byOther = await RunAsync("--user", "carol@example.com", "cancel", created.Id);
        Assert.Equal(1, byOther.Code);
        Assert.Contains("403", byOther.Error);

        var (code, output, _) = await RunAsync("--user", "zack@example.com", "cancel", created.Id);
        Assert.Equal(0, code);
        Assert.StartsWith(created.Id, output);
        await Api.WaitForStatusAsync(zack, created.Id, "cancelled");
        var listed = await RunAsync("--user", "zack@example.com", "list", "--mine", "--status", "cancelled");
        Assert.Contains(listed.Output.Split('\n'), l => l.StartsWith(created.Id, StringComparison.Ordinal) && l.Contains("  cancelled  ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Refusals_print_the_servers_reason_and_exit_1()
    {
        var (code, _, error) = await RunAsync("--user", "zoe@example.com", "request", "--account", Api.Account, "--policy", "arn:aws:iam::aws:policy/IAMFullAccess", "--reason", "x");
        Assert.Equal(1, code);
        Assert.Contains("403", error);
        Assert.Contains("No rule allows", error);

        var invalid = await RunAsync("--user", "zoe@example.com", "request", "--account", "123", "--policy", Api.ReadOnly, "--reason", "x");
        Assert.Equal(1, invalid.Code);
        Assert.Contains("accountId", invalid.Error);

        var anonymous = await RunAsync("list");
        Assert.Equal(1, anonymous.Code);
        Assert.Contains("401", anonymous.Error);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("request", "--help")]
    [InlineData("approve", "-h")]
    [InlineData("list", "--status", "active", "-h")]
    public async Task Help_is_there_on_every_command_and_exits_0(params string[] args)
    {
        var (code, output, error) = await RunAsync(args);
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
        Assert.Empty(error);
        Assert.Equal(0, _calls.Count);
    }

    [Theory]
    [InlineData("request", "--policy", "arn:aws:iam::aws:policy/ReadOnlyAccess")]
    [InlineData("approve")]
    [InlineData("show", "../../api/health")]
    [InlineData("request", "--account", "111122223333", "--policy", "arn:aws:iam::aws:policy/ReadOnlyAccess", "--duration", "forever")]
    [InlineData("request", "--account", "111122223333", "--resource", "arn:aws:s3:::team-a")]
    [InlineData("explode")]
    [InlineData("request", "--account")]
    [InlineData("list", "--mine", "--bogus")]
    [InlineData("list", "--status", "sleeping")]
    [InlineData("list", "-o", "yaml")]
    [InlineData("extend", "abc123")]
    [InlineData("extend", "abc123", "--duration", "soon")]
    [InlineData("cancel")]
    public async Task Usage_errors_exit_2_without_calling_the_server(params string[] args)
    {
        var (code, _, error) = await RunAsync(["--user", "zoe@example.com", .. args]);
        Assert.Equal(2, code);
        Assert.Contains("usage: aw", error);
        Assert.Equal(0, _calls.Count);
    }

    [Fact]
    public async Task Unknown_options_are_named_not_swallowed()
    {
        var (code, _, error) = await RunAsync("--user", "zoe@example.com", "list", "--mine", "--statuss", "active");
        Assert.Equal(2, code);
        Assert.Contains("'--statuss'", error);
    }

    [Fact]
    public async Task Show_prints_times_in_the_readers_zone_with_date_and_json_prints_the_servers_answer()
    {
        var zoe = _server.As("zoe@example.com");
        var id = (await Api.CreatePendingAsync(zoe, Api.PolicyRequest(duration: "PT1M"))).Id;
        await Api.DecideAsync(_server.As("carol@example.com"), id, "approve", comment: "ok");
        var active = await Api.WaitForStatusAsync(zoe, id, "active");

        var kolkata = TimeZoneInfo.FindSystemTimeZoneById("Asia/Kolkata");
        var (code, output, _) = await RunAsync(kolkata, "--user", "zoe@example.com", "show", id);
        Assert.Equal(0, code);
        var expected = TimeZoneInfo.ConvertTime(active.ExpiresAt!.Value, kolkata).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"expires    {expected} +05:30", output);
        Assert.Contains("decision   approve by carol@example.com via api at ", output);
        Assert.Contains(": ok", output);

        var json = await RunAsync(kolkata, "--user", "zoe@example.com", "-o", "json", "show", id);
        using var document = System.Text.Json.JsonDocument.Parse(json.Output);
        Assert.Equal(id, document.RootElement.GetProperty("id").GetString());
        Assert.Equal(active.ExpiresAt, document.RootElement.GetProperty("expiresAt").GetDateTimeOffset());

        Assert.Equal(0, (await RunAsync("--user", "zoe@example.com", "relinquish", id)).Code);
    }

    [Fact]
    public async Task Tab_completion_offers_commands_and_option_values_and_prints_a_shell_script()
    {
        var commands = await RunAsync("[suggest:5]", "aw re");
        Assert.Equal(["relinquish", "request", "revoke"], commands.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

        var statuses = await RunAsync("[suggest:17]", "aw list --status ");
        Assert.Contains("timedOut", statuses.Output);
        Assert.Contains("relinquished", statuses.Output);

        var script = await RunAsync("completion", "bash");
        Assert.Equal(0, script.Code);
        Assert.Contains("complete -o default -F _aw_complete aw", script.Output);
        Assert.Equal(0, _calls.Count);
    }

    [Fact]
    public async Task An_unreachable_server_is_one_line_and_exit_1()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        using var handler = new HttpClientHandler();
        var code = await CliApp.RunAsync(["--server", "http://127.0.0.1:1", "--user", "zoe@example.com", "list"], handler, output, error, _ => null);
        Assert.Equal(1, code);
        Assert.StartsWith("Could not reach http://127.0.0.1:1/", error.ToString());
    }

    private Task<(int Code, string Output, string Error)> RunAsync(params string[] args) => RunAsync(TimeZoneInfo.Utc, args);

    private async Task<(int Code, string Output, string Error)> RunAsync(TimeZoneInfo zone, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        using var counting = new CountingHandler(_server.Server.CreateHandler(), _calls);
        var code = await CliApp.RunAsync(args, counting, output, error, _ => null, zone);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Counts what reaches the server, so usage errors can be shown to send nothing.</summary>
    private sealed class CountingHandler(HttpMessageHandler inner, CallCount calls) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref calls.Value);
            return base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class CallCount
    {
        public int Value;

        public int Count => Volatile.Read(ref Value);
    }

    public sealed class Fixture : IDisposable
    {
        public ServerFactory Server { get; } = new();

        public void Dispose() => Server.Dispose();
    }
}
