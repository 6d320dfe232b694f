using AccessWorkflows.Durable;
using Microsoft.DurableTask.Client;

namespace AccessWorkflows.Functions.Durable;

/// <summary>
/// In Durable Functions the client is not a DI service: each function that needs it takes
/// <c>[DurableClient] DurableTaskClient</c>. The shared code (RequestService, the handlers) takes an
/// <see cref="IDurableClient"/> from DI, so the host registers <see cref="AmbientDurableClient"/>, which forwards to
/// the client of the function invocation in progress, set with <see cref="Enter"/> around the shared call. The value
/// lives in an <see cref="AsyncLocal{T}"/>, so it follows the invocation's awaits and never leaks into another one.
/// </summary>
public static class DurableClientScope
{
    private static readonly AsyncLocal<IDurableClient?> CurrentClient = new();

    public static IDurableClient? Current => CurrentClient.Value;

    /// <summary>Makes <paramref name="client"/> the invocation's client until the returned scope is disposed.</summary>
    public static IDisposable Enter(DurableTaskClient client)
    {
        var previous = CurrentClient.Value;
        CurrentClient.Value = new DurableClientAdapter(client);
        return new Restore(previous);
    }

    private sealed class Restore(IDurableClient? previous) : IDisposable
    {
        public void Dispose() => CurrentClient.Value = previous;
    }
}
