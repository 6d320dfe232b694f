using AccessWorkflows.Http;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Server.Hosting;

/// <summary>What the server was started with, for the start-up log.</summary>
internal sealed record ServerStartupInfo(string RulesPath, AccessRules Rules);

/// <summary>Whether the durable engine runs: false until the port is bound and the engine started, false again
/// from the moment the host begins to stop.</summary>
internal sealed class ServerReadiness
{
    private volatile bool _engineRunning;

    public bool EngineRunning
    {
        get => _engineRunning;
        set => _engineRunning = value;
    }
}

/// <summary>
/// Liveness and readiness for orchestrators (Kubernetes, Container Apps, a load balancer). Live: the process answers
/// HTTP, so restarting it would not help anything else. Ready: the engine runs and the store and the engine's
/// database answer (<c>/api/health</c> of SPEC 8 checks the same stores), so requests may be sent here. They sit
/// outside <c>/api</c> because they describe this process, not the product's API: the Functions host has its
/// platform's own.
/// </summary>
internal static class Probes
{
    public static IEndpointRouteBuilder MapProbes(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/health/live", () => Results.Ok(new { status = "live" }));
        endpoints.MapGet("/health/ready", (Func<HttpContext, Task<IResult>>)ReadyAsync);
        return endpoints;
    }

    private static Task<IResult> ReadyAsync(HttpContext http) =>
        http.RequestServices.GetRequiredService<ServerReadiness>().EngineRunning
            ? OperationsHandlers.HealthAsync(http)
            : Task.FromResult(Results.Problem("The durable engine is not running (starting or stopping).", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready."));
}
