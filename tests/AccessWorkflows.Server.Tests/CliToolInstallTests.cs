using System.Diagnostics;
using System.Net.Http.Json;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Server.Tests;

/// <summary>
/// <c>aw</c> as a user gets it (README "The command line"): the repository's package, packed and installed with
/// <c>dotnet tool install</c>, then the installed command run as a process against a server on a real socket.
/// </summary>
public sealed class CliToolInstallTests
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    [Fact]
    public async Task The_package_installs_as_a_dotnet_tool_offline_and_the_installed_aw_works_against_a_server()
    {
        var root = Path.Combine(Path.GetTempPath(), "aw-tool-install", Guid.NewGuid().ToString("N"));
        var feed = Path.Combine(root, "feed");
        var tools = Path.Combine(root, "tools");
        Directory.CreateDirectory(root);

        // Offline: the install may read the package folder and nothing else — no nuget.org, no feed of the machine's
        // configuration (<clear/>), and an empty package cache, so a stale copy of an earlier build cannot be taken.
        var config = Path.Combine(root, "nuget.config");
        await File.WriteAllTextAsync(config, "<?xml version=\"1.0\" encoding=\"utf-8\"?><configuration><packageSources><clear /></packageSources></configuration>");
        var environment = new Dictionary<string, string>
        {
            ["NUGET_PACKAGES"] = Path.Combine(root, "packages"),
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_ROOT"] = Path.GetDirectoryName(DotnetHost)!,
        };

        // The project was built with this test project (it references it); packing needs no restore and no network.
        var project = Path.Combine(Azurite.RepositoryRoot(), "src", "AccessWorkflows.Cli", "AccessWorkflows.Cli.csproj");
        var pack = await RunAsync(DotnetHost, root, new Dictionary<string, string>(), "pack", project, "-c", Configuration, "--no-build", "-o", feed);
        Assert.True(pack.Code == 0, pack.Output + pack.Error);
        Assert.Single(Directory.GetFiles(feed, "AccessWorkflows.Cli.*.nupkg"));

        var install = await RunAsync(DotnetHost, root, environment, "tool", "install", "--tool-path", tools, "AccessWorkflows.Cli", "--add-source", feed, "--configfile", config);
        Assert.True(install.Code == 0, install.Output + install.Error);
        Assert.Contains("aw", install.Output);

        var aw = Path.Combine(tools, "aw");
        var help = await RunAsync(aw, root, environment, "--help");
        Assert.Equal(0, help.Code);
        Assert.Contains("Usage:", help.Output);
        Assert.Empty(help.Error);

        using var server = new ServerFactory();
        server.UseKestrel(0);
        server.StartServer();
        var address = server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var request = await RunAsync(aw, root, environment, "--server", address, "--user", "tess@example.com",
            "request", "--account", Api.Account, "--policy", Api.ReadOnly, "--duration", "1m", "--reason", "installed tool", "-o", "json");
        Assert.True(request.Code == 0, request.Output + request.Error);
        var id = System.Text.Json.JsonDocument.Parse(request.Output).RootElement.GetProperty("id").GetString();

        using var http = new HttpClient { BaseAddress = new Uri(address) };
        http.DefaultRequestHeaders.Add("X-Dev-User", "tess@example.com");
        var stored = await http.GetFromJsonAsync<RequestJson>($"/api/requests/{id}");
        Assert.Equal("tess@example.com", stored!.Requester);
        Assert.Equal("pending", stored.Status);
        Assert.Equal("PT1M", stored.Duration);

        Directory.Delete(root, recursive: true);
    }

    private static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "/usr/share/dotnet/dotnet";

    private static async Task<(int Code, string Output, string Error)> RunAsync(string file, string workingDirectory, IDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran for more than 60 s");
        }

        return (process.ExitCode, await output, await error);
    }
}
