using System.Text;
using System.Text.Json;
using AccessWorkflows.Functions.Durable;
using AccessWorkflows.Functions.Hosting;
using Azure.Core.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AccessWorkflows.Functions.Tests;

/// <summary>
/// The Functions app as the worker runs it, minus the Functions host process: the app's own composition
/// (<see cref="FunctionsServiceCollectionExtensions.AddAccessWorkflowsFunctions"/>), its orchestrator and activity
/// functions found by their <c>[Function]</c> attributes and bound as the worker binds them (<see cref="FunctionIndex"/>),
/// running on the real durabletask-dotnet worker and client through <see cref="DurableTaskTestHost"/>, with the app's
/// own serializer as the data converter (what the Durable extension does with <c>WorkerOptions.Serializer</c>). HTTP
/// requests go through the app's HTTP functions with the real <see cref="DurableTaskClient"/>.
/// </summary>
public sealed class FunctionsAppHarness : IAsyncDisposable
{
    private readonly DirectoryInfo _directory;

    private FunctionsAppHarness(ServiceProvider services, DurableTaskTestHost host, DirectoryInfo directory)
    {
        Services = services;
        Host = host;
        _directory = directory;
    }

    public ServiceProvider Services { get; }

    public DurableTaskTestHost Host { get; }

    public DurableTaskClient Client => Host.Client;

    /// <param name="configure">Replaces services after the app's composition (a provisioner that fails, say).</param>
    public static async Task<FunctionsAppHarness> StartAsync(Action<IServiceCollection>? configure = null)
    {
        var directory = Directory.CreateTempSubdirectory("aw-functions-");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AccessWorkflows:RulesPath"] = Path.Combine(AppContext.BaseDirectory, "fidelity-rules.yaml"),
            ["AccessWorkflows:Storage"] = "sqlite",
            ["AccessWorkflows:Sqlite:Path"] = Path.Combine(directory.FullName, "accessworkflows.db"),
            ["AccessWorkflows:Auth:Mode"] = "Development",
            ["AccessWorkflows:Workflow:RevocationRetry:FirstRetryInterval"] = "00:00:00.200",
            ["AccessWorkflows:Workflow:RevocationRetry:RoundPause"] = "00:00:01",

            // The tests poll as one identity far faster than a person clicks.
            ["AccessWorkflows:RateLimit:PermitLimit"] = "1000000",
        }).Build();

        var services = new ServiceCollection();
        services.AddLogging();
        services.AddAccessWorkflowsFunctions(configuration, new DevelopmentEnvironment());
        configure?.Invoke(services);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true, ValidateOnBuild = true });

        var serializer = provider.GetRequiredService<IOptions<WorkerOptions>>().Value.Serializer
            ?? throw new InvalidOperationException("The Functions app configures no WorkerOptions.Serializer.");
        var host = await DurableTaskTestHost.StartAsync(
            registry => FunctionIndex.Register(registry, provider),
            new DurableTaskTestHostOptions { ConfigureServices = s => s.AddSingleton<DataConverter>(new ObjectSerializerConverter(serializer)) });
        return new FunctionsAppHarness(provider, host, directory);
    }

    /// <summary>Calls an HTTP function of the app the way the Functions ASP.NET Core integration does: an
    /// <see cref="HttpContext"/> whose services are the app's, the function's own parameters, then the returned
    /// <see cref="IResult"/> executed against the response.</summary>
    public async Task<(int Status, JsonElement Body)> HttpAsync(
        Func<HttpRequest, DurableTaskClient, Task<IResult>> function, string method, string path, string? asUser, object? body = null)
    {
        await using var scope = Services.CreateAsyncScope();
        var http = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        http.Request.Method = method;
        http.Request.Scheme = "http";
        http.Request.Host = new HostString("localhost", 7071);
        http.Request.Path = path;
        if (asUser is not null)
        {
            http.Request.Headers["X-Dev-User"] = asUser;
        }

        if (body is not null)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(body, JsonSerializerOptions.Web);
            http.Request.ContentType = "application/json";
            http.Request.ContentLength = bytes.Length;
            http.Request.Body = new MemoryStream(bytes);
        }

        var response = new MemoryStream();
        http.Response.Body = response;
        var result = await function(http.Request, Client);
        await result.ExecuteAsync(http);
        var text = Encoding.UTF8.GetString(response.ToArray());
        return (http.Response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Services.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Delete(recursive: true);
    }

    /// <summary>What the Durable extension's ObjectConverterShim does: the worker's <c>ObjectSerializer</c> as the
    /// <see cref="DataConverter"/> of both the worker and the client.</summary>
    private sealed class ObjectSerializerConverter(ObjectSerializer serializer) : DataConverter
    {
        public override string? Serialize(object? value) =>
            value is null ? null : serializer.Serialize(value, value.GetType(), default).ToString();

        public override object? Deserialize(string? data, Type targetType)
        {
            if (data is null)
            {
                return null;
            }

            using var stream = new MemoryStream(Encoding.UTF8.GetBytes(data), writable: false);
            return serializer.Deserialize(stream, targetType, default);
        }
    }
}

/// <summary><c>func start</c> runs the app in the Development environment, which the Development auth mode needs.</summary>
internal sealed class DevelopmentEnvironment : IHostEnvironment
{
    public string EnvironmentName { get; set; } = Environments.Development;

    public string ApplicationName { get; set; } = "AccessWorkflows.Functions";

    public string ContentRootPath { get; set; } = AppContext.BaseDirectory;

    public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
}
