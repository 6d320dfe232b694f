using AccessWorkflows.Aws;
using AccessWorkflows.Aws.Reconciliation;
using AccessWorkflows.Durable;
using AccessWorkflows.Functions.Durable;
using AccessWorkflows.Grants;
using AccessWorkflows.Grants.Sandbox;
using AccessWorkflows.Http;
using AccessWorkflows.Notifications;
using AccessWorkflows.OnCall;
using AccessWorkflows.PagerDuty;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Slack;
using AccessWorkflows.Teams;
using AccessWorkflows.Webhook;
using AccessWorkflows.Workflow;
using Azure.Core.Serialization;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace AccessWorkflows.Functions.Hosting;

/// <summary>
/// The Functions app's composition: the same services as the server (src/AccessWorkflows.Server/Hosting/
/// AccessWorkflowsServer.cs, keep the two in step), with three differences: storage is Azure Table Storage, the
/// durable engine is Durable Functions (so <see cref="IDurableClient"/> is the invocation's client, see
/// <see cref="DurableClientScope"/>), and periodic work runs in timer functions rather than hosted services.
/// </summary>
public static class FunctionsServiceCollectionExtensions
{
    public static IServiceCollection AddAccessWorkflowsFunctions(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var section = configuration.GetSection("AccessWorkflows");

        // Rules first: a broken file stops the host, naming line and field. Relative paths are from the app's root.
        var rulesPath = section["RulesPath"] ?? "access-rules.yaml";
        services.AddSingleton(RulesLoader.Load(Path.IsPathRooted(rulesPath) ? rulesPath : Path.Combine(AppContext.BaseDirectory, rulesPath)));

        // Everything crossing a durable boundary uses the shared JSON shape (camelCase web defaults), as in the server.
        services.Configure<WorkerOptions>(options => options.Serializer = new JsonObjectSerializer(DurableJson.Options));

        services.TryAddSingleton(TimeProvider.System);
        services.Configure<WorkflowOptions>(section.GetSection("Workflow"));

        // Table Storage is the only store that survives a scale-out; SQLite stays available for a single local instance.
        if (string.Equals(section["Storage"] ?? "tables", "sqlite", StringComparison.OrdinalIgnoreCase))
        {
            services.AddSqliteAccessStore(section["Sqlite:Path"] ?? Path.Combine(Path.GetTempPath(), "accessworkflows.db"));
        }
        else
        {
            services.AddTableAccessStore(configuration);
        }

        AddAuthentication(services, section, environment);

        services.AddSingleton<RecordingNotificationChannel>();
        services.AddSingleton<INotificationChannel>(sp => sp.GetRequiredService<RecordingNotificationChannel>());
        services.AddWebhook(configuration);
        services.AddPagerDuty(configuration);
        services.AddTeams(configuration);
        services.AddSlack(configuration);
        services.TryAddSingleton<IOnCallDirectory, NoOnCallDirectory>();
        services.AddSingleton<SandboxProvisioner>();
        services.AddAws(configuration);
        services.AddSingleton<IAccessCatalog>(sp => sp.GetRequiredService<AwsAccessCatalog>());
        services.AddSingleton<IProvisionerResolver, ProvisionerResolver>();
        services.AddSingleton<GrantService>();
        services.AddSingleton<AccessOptions>();
        services.AddSingleton<AccessWorkflowActivities>();
        services.AddSingleton<RequestService>();
        services.AddSingleton<IAccessRequestCommands>(sp => sp.GetRequiredService<RequestService>());
        services.AddSingleton<IDurableClient, AmbientDurableClient>();
        services.AddSingleton<ChannelRoutes>();

        // The sweep is the ReconcileAwsAccounts timer function here; the hosted service would run it a second time.
        foreach (var hosted in services.Where(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(AwsReconciliationService)).ToList())
        {
            services.Remove(hosted);
        }

        return services;
    }

    private static void AddAuthentication(IServiceCollection services, IConfigurationSection section, IHostEnvironment environment)
    {
        var auth = section.GetSection("Auth");
        services.Configure<AuthOptions>(auth);
        var mode = auth["Mode"] ?? AuthOptions.JwtMode;
        if (string.Equals(mode, AuthOptions.DevelopmentMode, StringComparison.OrdinalIgnoreCase))
        {
            if (!environment.IsDevelopment())
            {
                throw new InvalidOperationException("AccessWorkflows:Auth:Mode Development trusts the X-Dev-User header and is allowed only when the environment is Development.");
            }

            services.AddSingleton<ICallerAuthenticator, DevelopmentCallerAuthenticator>();
        }
        else if (string.Equals(mode, AuthOptions.JwtMode, StringComparison.OrdinalIgnoreCase))
        {
            services.AddSingleton<ICallerAuthenticator, JwtCallerAuthenticator>();
        }
        else
        {
            throw new InvalidOperationException($"AccessWorkflows:Auth:Mode must be Jwt or Development, not '{mode}'.");
        }
    }
}
