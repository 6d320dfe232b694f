using AccessWorkflows.Aws;
using AccessWorkflows.Durable;
using AccessWorkflows.Durable.Embedded;
using AccessWorkflows.Hosting;
using AccessWorkflows.Http;
using AccessWorkflows.OnCall;
using AccessWorkflows.PagerDuty;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Slack;
using AccessWorkflows.Storage;
using AccessWorkflows.Teams;
using AccessWorkflows.Webhook;
using AccessWorkflows.Workflow;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AccessWorkflows.Server.Hosting;

/// <summary>How the self-contained server is put together: configuration, rules, store, engine, channels, routes.</summary>
public static class AccessWorkflowsServer
{
    public const string DefaultUrl = "http://127.0.0.1:7071";

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

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
        services.AddSingleton(RulesLoader.Load(rulesPath));

        AddStorage(services, configuration);
        services.AddCallerAuthentication(section.GetSection("Auth"), environment);

        // Integrations register themselves only when configured; the core fills in the rest.
        services.AddWebhook(configuration);
        services.AddPagerDuty(configuration);
        services.AddTeams(configuration);
        services.AddSlack(configuration);
        services.AddAws(configuration);
        services.AddAccessWorkflowsCore(section);

        AddDurableEngine(services, section);
        services.AddHostedService<RequestRecoveryService>();
        services.Configure<KestrelServerOptions>(ConfigureRefusals);
        return services;
    }

    public static WebApplication MapAccessWorkflowsServer(this WebApplication app)
    {
        if (app.Services.GetRequiredService<ICallerAuthenticator>() is DevelopmentCallerAuthenticator)
        {
            app.Logger.LogWarning("Authentication is in Development mode: the X-Dev-User header is trusted. Never use this outside a developer machine.");
        }

        // First in the pipeline: an unexpected exception or an empty refusal (404, 405) anywhere below is answered
        // as problem+json without a stack trace, even in Development.
        app.UseProblemResponses();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapAccessRequestApi();
        app.MapAuditExportApi();
        app.MapOperationsApi();
        app.MapAccountApi();
        app.MapWebhook();
        app.MapTeams();
        app.MapSlack();
        return app;
    }

    /// <summary>
    /// Kestrel answers what it refuses before the pipeline with an empty body and has no hook to change that (SPEC 8
    /// wants problem+json). It reads request lines up to 64 KiB here, so that a target over
    /// <see cref="ProblemResponses.MaxRequestTargetLength"/> gets the pipeline's 414 problem. What Kestrel still refuses
    /// itself (a NUL byte or a malformed header, a malformed request line, a line over 64 KiB) keeps its empty answer.
    /// </summary>
    private static void ConfigureRefusals(KestrelServerOptions kestrel) => kestrel.Limits.MaxRequestLineSize = 64 * 1024;

    private static void AddStorage(IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("AccessWorkflows");
        var storage = section["Storage"] ?? "sqlite";
        if (string.Equals(storage, "sqlite", StringComparison.OrdinalIgnoreCase))
        {
            services.AddSqliteAccessStore(ServerPaths.Resolve(section["Sqlite:Path"] ?? ".data/accessworkflows.db", mustExist: false));
        }
        else if (string.Equals(storage, "tables", StringComparison.OrdinalIgnoreCase))
        {
            // Azure Table Storage (AccessWorkflows:Tables:ServiceUri with the managed identity, or :ConnectionString).
            services.AddTableAccessStore(configuration);
        }
        else
        {
            throw new InvalidOperationException($"AccessWorkflows:Storage must be sqlite or tables, not '{storage}'.");
        }
    }

    private static void AddDurableEngine(IServiceCollection services, IConfigurationSection section)
    {
        var path = ServerPaths.Resolve(section["Durable:Path"] ?? ".data/durable.db", mustExist: false);
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
        .AddActivity<GrantInput, string>(WorkflowNames.ProvisionActivity, (_, input, ct) => activities.ProvisionAsync(input, ct))
        .AddActivity<GrantInput>(WorkflowNames.DeprovisionActivity, (_, input, ct) => activities.DeprovisionAsync(input, ct));
}

/// <summary>Starts the engine with the host and stops it gracefully (SIGTERM): in-flight steps finish, nothing is lost.</summary>
internal sealed class DurableEngineHostedService(DurableEngine engine) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => engine.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => engine.StopAsync(cancellationToken);
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
