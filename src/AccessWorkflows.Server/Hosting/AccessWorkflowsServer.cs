using AccessWorkflows.Aws;
using AccessWorkflows.Durable;
using AccessWorkflows.Durable.Embedded;
using AccessWorkflows.Hosting;
using AccessWorkflows.Http;
using AccessWorkflows.OnCall;
using AccessWorkflows.PagerDuty;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Server.Page;
using AccessWorkflows.Server.Telemetry;
using AccessWorkflows.Slack;
using AccessWorkflows.Storage;
using AccessWorkflows.Teams;
using AccessWorkflows.Webhook;
using AccessWorkflows.Workflow;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace AccessWorkflows.Server.Hosting;

/// <summary>How the self-contained server is put together: configuration, rules, store, engine, channels, routes.</summary>
public static class AccessWorkflowsServer
{
    public const string DefaultUrl = "http://127.0.0.1:7071";

    /// <summary>
    /// The thread pool's minimum of worker threads while the server runs. SQLite's ADO.NET provider does its I/O
    /// synchronously even from its async methods, so a burst of requests holds pool threads; with the default minimum
    /// (one per core) the pool then adds threads slowly and about 1% of answers to 32 simultaneous Teams clicks waited
    /// 250-370 ms on a quiet 2-core machine (p99 46-52 ms with this minimum; docs/benchmarks/teams-ack.md).
    /// </summary>
    public const int MinWorkerThreads = 64;

    public static WebApplication Build(string[] args)
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, MinWorkerThreads), completionPorts);

        var builder = WebApplication.CreateBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        // A host that fails to start (a port in use) is reported by Program as one line; the host's own error log
        // of the same failure would add the stack trace the operator does not need.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);

        builder.Services.AddAccessWorkflowsServer(builder.Configuration, builder.Environment);
        var app = builder.Build();
        app.MapAccessWorkflowsServer();
        return app;
    }

    public static IServiceCollection AddAccessWorkflowsServer(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var section = configuration.GetSection("AccessWorkflows");

        // The rules are validated before anything else: a broken file stops the host with the line and field.
        var rulesPath = ServerPaths.Resolve(section["RulesPath"] ?? "access-rules.yaml", mustExist: true);
        var rules = LoadRules(rulesPath);
        services.AddSingleton(rules);

        var dataDirectories = AddStorage(services, configuration);
        services.AddLiveUpdates();
        services.AddCallerAuthentication(section.GetSection("Auth"), environment);

        // Integrations register themselves only when configured; the core fills in the rest.
        services.AddWebhook(configuration);
        services.AddPagerDuty(configuration);
        services.AddTeams(configuration);
        services.AddSlack(configuration);
        services.AddAws(configuration);
        services.AddAccessWorkflowsCore(section);
        services.AddAccessWorkflowsTelemetry(configuration);

        var durablePath = ServerPaths.Resolve(section["Durable:Path"] ?? ".data/durable.db", mustExist: false);
        dataDirectories.Add(Path.GetDirectoryName(durablePath)!);

        // Taken last, once nothing else can refuse the configuration, and before anything opens a database: a second
        // server on the same files stops here. The container owns it, so it is released when the host is disposed.
        var dataLock = DataDirectoryLock.Acquire(dataDirectories);
        services.AddSingleton(_ => dataLock);
        services.AddSingleton(new ServerStartupInfo(rulesPath, rules));
        services.AddSingleton<ServerReadiness>();

        AddDurableEngine(services, durablePath);
        services.AddHostedService<RequestRecoveryService>();
        services.AddHostedService<BreakGlass.BreakGlassReminderService>();
        services.Configure<KestrelServerOptions>(ConfigureRefusals);
        return services;
    }

    private static AccessRules LoadRules(string rulesPath)
    {
        if (!File.Exists(rulesPath))
        {
            throw new ServerStartupException($"{rulesPath}: the rules file does not exist (AccessWorkflows:RulesPath names it; relative paths are looked up from the working directory upwards)");
        }

        try
        {
            return RulesLoader.Load(rulesPath);
        }
        catch (RulesFileException e)
        {
            // The loader names the file only; the operator needs the path that was read.
            throw new ServerStartupException(e.Line > 0 ? $"{rulesPath}:{e.Line}: {e.Field}: {e.Problem}" : $"{rulesPath}: {e.Problem}", e);
        }
    }

    public static WebApplication MapAccessWorkflowsServer(this WebApplication app)
    {
        if (app.Services.GetRequiredService<ICallerAuthenticator>() is DevelopmentCallerAuthenticator)
        {
            app.Logger.LogWarning("Authentication is in Development mode: the X-Dev-User header is trusted. Never use this outside a developer machine.");
        }

        var info = app.Services.GetRequiredService<ServerStartupInfo>();
        ServerLog.RulesLoaded(app.Logger, info.RulesPath, info.Rules.Rules.Count, info.Rules.Accounts.Count, info.Rules.Admins.Count, info.Rules.Auditors.Count);
        foreach (var directory in app.Services.GetRequiredService<DataDirectoryLock>().Directories)
        {
            ServerLog.DataDirectoryLocked(app.Logger, directory);
        }

        // First in the pipeline: an unexpected exception or an empty refusal (404, 405) anywhere below is answered
        // as problem+json without a stack trace, even in Development.
        app.UseProblemResponses();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapAccessRequestApi();
        app.MapAuditExportApi();
        app.MapActivityApi();
        app.MapOperationsApi();
        app.MapAccountApi();
        app.MapProbes();
        app.MapConsole();
        app.MapLiveUpdates();
        app.MapAccessWorkflowsTelemetry();
        app.MapWebhook();
        app.MapTeams();
        app.MapSlack();
        return app;
    }

    /// <summary>
    /// Kestrel answers what it refuses before the pipeline with an empty body (SPEC 8 wants problem+json). It reads
    /// request lines up to 64 KiB here, so that a target over <see cref="ProblemResponses.MaxRequestTargetLength"/> gets
    /// the pipeline's 414 problem; what Kestrel still refuses itself (a NUL byte or a malformed header, a malformed
    /// request line, a line over 64 KiB, headers too large) gets its problem body from <see cref="KestrelRefusalProblems"/>.
    /// </summary>
    private static void ConfigureRefusals(KestrelServerOptions kestrel)
    {
        kestrel.Limits.MaxRequestLineSize = 64 * 1024;
        kestrel.ConfigureEndpointDefaults(KestrelRefusalProblems.Use);
    }

    /// <summary>Registers the request store; returns the local directories it writes (none for Table Storage).</summary>
    private static List<string> AddStorage(IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("AccessWorkflows");
        var storage = section["Storage"] ?? "sqlite";
        if (string.Equals(storage, "sqlite", StringComparison.OrdinalIgnoreCase))
        {
            var path = ServerPaths.Resolve(section["Sqlite:Path"] ?? ".data/accessworkflows.db", mustExist: false);
            services.AddSqliteAccessStore(path);
            return [Path.GetDirectoryName(path)!];
        }

        if (string.Equals(storage, "tables", StringComparison.OrdinalIgnoreCase))
        {
            // Azure Table Storage (AccessWorkflows:Tables:ServiceUri with the managed identity, or :ConnectionString).
            services.AddTableAccessStore(configuration);
            return [];
        }

        throw new InvalidOperationException($"AccessWorkflows:Storage must be sqlite or tables, not '{storage}'.");
    }

    private static void AddDurableEngine(IServiceCollection services, string path)
    {
        services.AddSingleton(sp =>
        {
            var registry = WorkflowRegistration.Create(sp.GetRequiredService<AccessWorkflowActivities>());
            var options = new DurableEngineOptions { DatabasePath = path, TimeProvider = sp.GetRequiredService<TimeProvider>() };
            return new DurableEngine(registry, options, sp.GetRequiredService<ILoggerFactory>());
        });
        services.AddSingleton<IDurableClient>(sp => sp.GetRequiredService<DurableEngine>().Client);
        services.AddHostedService<DurableEngineHostedService>();
    }
}

/// <summary>Registers the workflow's orchestrator and activities with the embedded engine.</summary>
public static class WorkflowRegistration
{
    public static DurableTaskRegistry Create(AccessWorkflowActivities activities) => new DurableTaskRegistry()
        .AddOrchestrator<AccessWorkflowInput, AccessWorkflowResult>(WorkflowNames.Orchestrator, AccessRequestOrchestrator.RunAsync)
        .AddActivity<RequestChange, AccessRequest>(WorkflowNames.ApplyChangeActivity, (_, input, ct) => activities.ApplyChangeAsync(input, ct))
        .AddActivity<DeliverInput>(WorkflowNames.DeliverActivity, (_, input, ct) => activities.DeliverAsync(input, ct))
        .AddActivity<OnCallInput, OnCallAnswer>(WorkflowNames.CheckOnCallActivity, (_, input, ct) => activities.CheckOnCallAsync(input, ct))
        .AddActivity<OnCallRespondersInput, List<string>>(WorkflowNames.ResolveOnCallRespondersActivity, (_, input, ct) => activities.ResolveOnCallRespondersAsync(input, ct))
        .AddActivity<GrantInput, string>(WorkflowNames.ProvisionActivity, (_, input, ct) => activities.ProvisionAsync(input, ct))
        .AddActivity<GrantInput>(WorkflowNames.DeprovisionActivity, (_, input, ct) => activities.DeprovisionAsync(input, ct))
        .AddActivity<ExtendGrantInput>(WorkflowNames.ExtendGrantActivity, (_, input, ct) => activities.ExtendGrantAsync(input, ct))
        .AddActivity<ActivityInput, AccessRequest>(WorkflowNames.CollectActivityActivity, (_, input, ct) => activities.CollectActivityAsync(input, ct));
}

/// <summary>
/// Starts the engine once the server listens, and stops it gracefully (SIGTERM): in-flight steps finish, nothing is
/// lost. Starting it only after the port is bound means a server that cannot bind never runs a single step.
/// </summary>
internal sealed class DurableEngineHostedService(
    DurableEngine engine,
    ServerReadiness readiness,
    DataDirectoryLock dataLock,
    IServiceProvider services,
    ILogger<DurableEngineHostedService> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs after every hosted service started, the web server included: the port is ours.</summary>
    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        var addresses = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        ServerLog.EngineStarting(logger, addresses.Count == 0 ? "(in-process)" : string.Join(", ", addresses));
        await engine.StartAsync(cancellationToken);
        readiness.EngineRunning = true;
    }

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        readiness.EngineRunning = false;
        ServerLog.Stopping(logger);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Every other hosted service has stopped — the web server drained its requests, the chat channels' work
    /// queues ran what they had acknowledged — so nothing raises events any more: stop the engine (in-flight steps
    /// finish), then release the data directory now rather than when the container is disposed, which may come later
    /// (a restarted host in the same process must not wait for it).</summary>
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        await engine.StopAsync(cancellationToken);
        dataLock.Dispose();
    }
}

/// <summary>Finds a file or folder the configuration names relative to the working directory.</summary>
internal static class ServerPaths
{
    /// <summary>A relative path is taken from the working directory; an existing file that is not found there is
    /// looked for in its parents too, so the server finds the repository's rules file when run from a sub-folder.</summary>
    public static string Resolve(string path, bool mustExist)
    {
        if (Path.IsPathRooted(path))
        {
            return path;
        }

        var here = Path.GetFullPath(path);
        if (!mustExist || File.Exists(here))
        {
            return here;
        }

        for (var dir = Directory.GetParent(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, path);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return here; // the loader reports it missing, with the path
    }
}
