using AccessWorkflows.Aws;
using AccessWorkflows.Aws.Reconciliation;
using AccessWorkflows.Durable;
using AccessWorkflows.Functions.Durable;
using AccessWorkflows.Hosting;
using AccessWorkflows.PagerDuty;
using AccessWorkflows.Rules;
using AccessWorkflows.Slack;
using AccessWorkflows.Teams;
using AccessWorkflows.Webhook;
using Azure.Core.Serialization;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AccessWorkflows.Functions.Hosting;

/// <summary>
/// The Functions app's composition: the same integrations and core services as the server
/// (<see cref="CoreServiceCollectionExtensions"/>), with three differences: storage is Azure Table Storage, the
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

        // Table Storage is the only store that survives a scale-out; SQLite stays available for a single local instance.
        if (string.Equals(section["Storage"] ?? "tables", "sqlite", StringComparison.OrdinalIgnoreCase))
        {
            services.AddSqliteAccessStore(section["Sqlite:Path"] ?? Path.Combine(Path.GetTempPath(), "accessworkflows.db"));
        }
        else
        {
            services.AddTableAccessStore(configuration);
        }

        services.AddCallerAuthentication(section.GetSection("Auth"), environment);

        // Integrations register themselves only when configured; the core fills in the rest (as in the server).
        services.AddWebhook(configuration);
        services.AddPagerDuty(configuration);
        services.AddTeams(configuration);
        services.AddSlack(configuration);
        services.AddAws(configuration);
        services.AddAccessWorkflowsCore(section);
        services.AddSingleton<IDurableClient, AmbientDurableClient>();
        services.AddSingleton<ChannelRoutes>();

        // The sweep is the ReconcileAwsAccounts timer function here; the hosted service would run it a second time.
        foreach (var hosted in services.Where(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(AwsReconciliationService)).ToList())
        {
            services.Remove(hosted);
        }

        return services;
    }
}
