using AccessWorkflows.Cli;

namespace AccessWorkflows.Server.Tests;

/// <summary>The <c>aw</c> command line through its real entry point, against the in-process server.</summary>
public sealed class CliTests : IClassFixture<CliTests.Fixture>
{
    private readonly ServerFactory _server;

    public CliTests(Fixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task A_request_made_from_the_cli_is_approved_listed_and_relinquished_from_the_cli()
    {
        var (code, output, _) = await RunAsync("--user", "zoe@example.com", "request", "--account", Api.Account, "--policy", Api.ReadOnly, "--duration", "1m", "--reason", "on call");
        Assert.Equal(0, code);
        var id = output.Split(' ', 2)[0];
        Assert.Contains("pending", output);
        Assert.Contains("PT1M", output);
        await Api.CreatePendingAsyncFor(_server.As("zoe@example.com"), id);

        Assert.Equal(0, (await RunAsync("--user", "carol@example.com", "approve", id, "--duration", "30s", "--comment", "ok")).Code);
        await Api.WaitForStatusAsync(_server.As("zoe@example.com"), id, "active");

        var list = await RunAsync("--user", "zoe@example.com", "list", "--mine");
        Assert.Contains($"{id}  active", list.Output);
        Assert.Contains("PT30S until", list.Output);

        Assert.Equal(0, (await RunAsync("--user", "zoe@example.com", "relinquish", id)).Code);
        await Api.WaitForStatusAsync(_server.As("zoe@example.com"), id, "relinquished");
        var audit = await RunAsync("--user", "audit@example.com", "audit", id);
        Assert.Contains("request.relinquished", audit.Output);
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
    [InlineData("request", "--policy", "arn:aws:iam::aws:policy/ReadOnlyAccess")]
    [InlineData("approve")]
    [InlineData("show", "../../api/health")]
    [InlineData("request", "--account", "111122223333", "--policy", "arn:aws:iam::aws:policy/ReadOnlyAccess", "--duration", "forever")]
    [InlineData("explode")]
    [InlineData("request", "--account")]
    public async Task Usage_errors_exit_2_without_calling_the_server(params string[] args)
    {
        var (code, _, error) = await RunAsync(["--user", "zoe@example.com", .. args]);
        Assert.Equal(2, code);
        Assert.Contains("usage: aw", error);
    }

    private async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await CliApp.RunAsync(args, _server.Server.CreateHandler(), output, error, _ => null);
        return (code, output.ToString(), error.ToString());
    }

    public sealed class Fixture : IDisposable
    {
        public ServerFactory Server { get; } = new();

        public void Dispose() => Server.Dispose();
    }
}
