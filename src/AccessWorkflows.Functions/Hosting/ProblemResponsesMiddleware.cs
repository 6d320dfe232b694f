using AccessWorkflows.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;

namespace AccessWorkflows.Functions.Hosting;

/// <summary>
/// The server's problem+json answers (<see cref="ProblemResponses"/>) for the HTTP functions: a handler that throws is
/// answered 500 with only a correlation id (the exception is logged under it, never sent), an over-long target 414,
/// and an empty error answer gets a problem body. Registered after <c>ConfigureFunctionsWebApplication</c>, so it runs
/// inside the ASP.NET Core integration's proxying middleware, which writes the invocation's result to the response
/// once this returns. Non-HTTP invocations (orchestrations, activities, timers) pass straight through. Routes no
/// function serves are refused by the Functions host itself, before any of this runs.
/// </summary>
internal sealed class ProblemResponsesMiddleware : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        if (context.GetHttpContext() is not { } http)
        {
            await next(context);
            return;
        }

        if (ProblemResponses.IsTargetTooLong(http))
        {
            context.GetInvocationResult().Value = ProblemResponses.TargetTooLong();
            return;
        }

        try
        {
            await next(context);
        }
        catch (Exception ex) when (!http.Response.HasStarted)
        {
            await ProblemResponses.WriteUnhandledAsync(http, ex);
            context.GetInvocationResult().Value = Results.Empty; // written above; nothing more for the proxy to write
            return;
        }

        if (context.GetInvocationResult().Value is IResult result)
        {
            // Run the handler's result here, so an empty error answer can still become a problem body.
            await result.ExecuteAsync(http);
            context.GetInvocationResult().Value = Results.Empty;
            if (http.Response.StatusCode >= 400 && !http.Response.HasStarted)
            {
                await ProblemResponses.WriteEmptyErrorAsync(http);
            }
        }
    }
}
