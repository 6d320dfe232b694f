using AccessWorkflows.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AccessWorkflows.Server.Telemetry;

/// <summary>
/// OpenTelemetry for the self-contained server (<c>AccessWorkflows:Telemetry:*</c>): the product's metrics and the
/// HTTP server and client metrics on a Prometheus scrape endpoint (on by default, <c>/metrics</c>), and metrics plus
/// traces over OTLP only when an endpoint is configured (<c>:OtlpEndpoint</c> or the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>): nothing leaves the process unless someone asked for it.
/// </summary>
internal static class TelemetrySetup
{
    public const string DefaultPrometheusPath = "/metrics";

    public static IServiceCollection AddAccessWorkflowsTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("AccessWorkflows:Telemetry");
        var prometheus = !string.Equals(section["Prometheus"], "false", StringComparison.OrdinalIgnoreCase);
        var otlpEndpoint = section["OtlpEndpoint"];
        var otlp = !string.IsNullOrWhiteSpace(otlpEndpoint) || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

        services.AddSingleton<AccessWorkflowsMetrics>();
        DecorateAuditLog(services);
        services.AddHostedService<EngineBacklogSampler>();

        var builder = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("accessworkflows"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(AccessWorkflowsMetrics.MeterName).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                if (prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            });
        if (otlp)
        {
            // Traces only when they can go somewhere: an unexported trace is cost without use.
            builder.WithTracing(tracing => tracing.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation());
            if (string.IsNullOrWhiteSpace(otlpEndpoint))
            {
                builder.UseOtlpExporter(); // OTEL_EXPORTER_OTLP_* as the OpenTelemetry specification defines them
            }
            else
            {
                var protocol = string.Equals(section["OtlpProtocol"], "http/protobuf", StringComparison.OrdinalIgnoreCase)
                    ? OtlpExportProtocol.HttpProtobuf
                    : OtlpExportProtocol.Grpc;
                if (!Uri.TryCreate(otlpEndpoint, UriKind.Absolute, out var endpoint))
                {
                    throw new InvalidOperationException($"AccessWorkflows:Telemetry:OtlpEndpoint must be an absolute URL, not '{otlpEndpoint}'.");
                }

                builder.UseOtlpExporter(protocol, endpoint);
            }
        }

        return services;
    }

    public static WebApplication MapAccessWorkflowsTelemetry(this WebApplication app)
    {
        var section = app.Configuration.GetSection("AccessWorkflows:Telemetry");
        if (!string.Equals(section["Prometheus"], "false", StringComparison.OrdinalIgnoreCase))
        {
            app.MapPrometheusScrapingEndpoint(section["PrometheusPath"] ?? DefaultPrometheusPath);
        }

        return app;
    }

    /// <summary>Wraps whichever audit log the store registered (SQLite or tables) so each append is also counted.</summary>
    private static void DecorateAuditLog(IServiceCollection services)
    {
        var inner = services.LastOrDefault(d => d.ServiceType == typeof(IAuditLog))
            ?? throw new InvalidOperationException("The store must be registered before telemetry.");
        services.Replace(ServiceDescriptor.Singleton<IAuditLog>(sp => new MeteredAuditLog(
            Create(sp, inner),
            sp.GetRequiredService<IRequestStore>(),
            sp.GetRequiredService<AccessWorkflowsMetrics>())));
    }

    private static IAuditLog Create(IServiceProvider sp, ServiceDescriptor descriptor) => (IAuditLog)(
        descriptor.ImplementationInstance
        ?? descriptor.ImplementationFactory?.Invoke(sp)
        ?? ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!));
}

internal static partial class TelemetryLog
{
    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Counting the durable engine's unfinished orchestrations failed: {Error}")]
    public static partial void BacklogSampleFailed(ILogger logger, string error);
}
