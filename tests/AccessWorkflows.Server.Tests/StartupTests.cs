using System.Net;
using System.Net.Sockets;

using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Server.Tests;

/// <summary>The host refuses to start with a broken rules file or an unsafe configuration (SPEC 5, 8).</summary>
public sealed class StartupTests
{
    [Fact]
    public void A_broken_rules_file_stops_the_host_naming_the_line_and_the_field()
    {
        var rules = Path.Combine(Path.GetTempPath(), $"broken-rules-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(rules, """
            admins: [secops@example.com]
            accounts:
              - id: "111122223333"
                name: sandbox
                provider: sandbox
            rules:
              - name: readonly
                requesters: ["*@example.com"]
                accounts: ["111122223333"]
                access: { policies: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] }
                maxDuration: forever
                approval: { auto: true }
            """);
        using var server = new ServerFactory(settings: new Dictionary<string, string?> { ["AccessWorkflows:RulesPath"] = rules });

        var error = Assert.ThrowsAny<Exception>(() => server.CreateClient());
        var message = Flatten(error);
        Assert.Contains("broken-rules", message);
        Assert.Contains(":11:", message);
        Assert.Contains("rules[0].maxDuration", message);
    }

    [Fact]
    public void A_missing_rules_file_stops_the_host()
    {
        using var server = new ServerFactory(settings: new Dictionary<string, string?> { ["AccessWorkflows:RulesPath"] = "/nonexistent/access-rules.yaml" });
        Assert.Contains("access-rules.yaml", Flatten(Assert.ThrowsAny<Exception>(() => server.CreateClient())));
    }

    [Fact]
    public void Development_authentication_is_refused_outside_the_development_environment()
    {
        using var server = new ServerFactory { EnvironmentName = "Production" };
        Assert.Contains("X-Dev-User", Flatten(Assert.ThrowsAny<Exception>(() => server.CreateClient())));
    }

    [Fact]
    public void Jwt_authentication_without_an_authority_is_refused()
    {
        using var server = new ServerFactory(settings: new Dictionary<string, string?> { ["AccessWorkflows:Auth:Mode"] = "Jwt" });
        Assert.Contains("Authority", Flatten(Assert.ThrowsAny<Exception>(() => server.CreateClient())));
    }

    [Fact]
    public async Task A_broken_rules_file_ends_the_process_with_one_line_naming_file_line_and_field_and_exit_1()
    {
        var directory = NewDirectory();
        File.WriteAllText(Path.Combine(directory, "access-rules.yaml"), "rules:\n  - name: x\n    bogus: 1\n");
        await using var server = ServerProcess.Start(directory);

        Assert.Equal(1, await server.WaitForExitAsync());
        var line = Assert.Single(Lines(server.Error));
        Assert.StartsWith($"accessworkflows: {Path.Combine(directory, "access-rules.yaml")}:3: rules[0].bogus: unknown key", line);
        Assert.DoesNotContain("Unhandled exception", server.Output + server.Error);
    }

    [Fact]
    public async Task A_missing_rules_file_ends_the_process_with_one_line_and_exit_1()
    {
        var directory = NewDirectory();
        await using var server = ServerProcess.Start(directory, "--AccessWorkflows:RulesPath=/nonexistent/rules.yaml");

        Assert.Equal(1, await server.WaitForExitAsync());
        Assert.Equal("accessworkflows: /nonexistent/rules.yaml: the rules file does not exist", Assert.Single(Lines(server.Error)).Split(" (")[0]);
    }

    [Fact]
    public async Task A_port_in_use_ends_the_process_with_one_line_before_the_engine_ran_a_step()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var port = ((IPEndPoint)occupant.LocalEndpoint).Port;
        var directory = NewDirectory();
        await using var server = ServerProcess.Start(directory, "--urls", $"http://127.0.0.1:{port}", $"--AccessWorkflows:RulesPath={TestRules}");

        Assert.Equal(1, await server.WaitForExitAsync());
        var line = Assert.Single(Lines(server.Error));
        Assert.Contains($"127.0.0.1:{port}", line);
        Assert.Contains("address already in use", line);

        // Bind first, then the engine: a server that could not listen never started its dispatchers.
        Assert.Contains("Rules loaded from", server.Output);
        Assert.DoesNotContain("Durable engine started", server.Output);
    }

    [Fact]
    public async Task A_second_server_on_the_same_data_directory_is_refused_in_one_line()
    {
        using var first = new ServerFactory();
        using var client = first.As("alice@example.com");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);

        await using var second = ServerProcess.Start(
            NewDirectory(),
            "--urls", "http://127.0.0.1:0",
            $"--AccessWorkflows:RulesPath={TestRules}",
            $"--AccessWorkflows:Sqlite:Path={Path.Combine(first.DataDirectory, "accessworkflows.db")}",
            $"--AccessWorkflows:Durable:Path={Path.Combine(first.DataDirectory, "durable.db")}");

        Assert.Equal(1, await second.WaitForExitAsync());
        var line = Assert.Single(Lines(second.Error));
        Assert.Contains(first.DataDirectory, line);
        Assert.Contains("another AccessWorkflows server is using this data directory", line);
        Assert.DoesNotContain("Durable engine started", second.Output);

        // The first one is untouched.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task Liveness_and_readiness_answer_once_the_engine_runs_and_readiness_drops_when_it_stops()
    {
        using var server = new ServerFactory();
        using var client = server.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);

        // The host stopping (SIGTERM) takes the server out of rotation before the engine drains.
        var lifetime = (Microsoft.Extensions.Hosting.IHostedLifecycleService)server.Services
            .GetServices<Microsoft.Extensions.Hosting.IHostedService>().Single(s => s.GetType().Name == "DurableEngineHostedService");
        await lifetime.StoppingAsync(CancellationToken.None);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    private static string TestRules => Path.Combine(AppContext.BaseDirectory, "test-rules.yaml");

    private static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "aw-startup-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return directory;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string Flatten(Exception error)
    {
        var messages = new List<string>();
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
        }

        return string.Join(" | ", messages);
    }
}
