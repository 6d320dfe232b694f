using System.Net.Sockets;
using AccessWorkflows.Rules;
using Microsoft.AspNetCore.Connections;

namespace AccessWorkflows.Server.Hosting;

/// <summary>A reason the server cannot start, already worded as the one line an operator reads.</summary>
internal sealed class ServerStartupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Turns what stops the server at start-up into one line (<c>file:line: field: problem</c> for the rules file) so an
/// operator sees the cause, not a stack trace. Anything else is a bug and keeps its stack trace.
/// </summary>
internal static class StartupFailure
{
    public const string Prefix = "accessworkflows: ";

    public static string? Describe(Exception error) => error switch
    {
        RulesFileException rules => Prefix + rules.Message,
        ServerStartupException startup => Prefix + startup.Message,
        IOException { InnerException: AddressInUseException } bind => Prefix + $"{bind.Message.TrimEnd('.')}: another process listens there; stop it or choose another address with --urls",
        IOException { InnerException: SocketException { SocketErrorCode: SocketError.AddressNotAvailable or SocketError.AccessDenied } } bind => Prefix + bind.Message,

        // The configuration checks of the core and the integrations throw this with the key and the problem.
        InvalidOperationException configuration when configuration.Message.Contains("AccessWorkflows:", StringComparison.Ordinal) => Prefix + configuration.Message,
        AggregateException { InnerExceptions.Count: 1 } aggregate => Describe(aggregate.InnerExceptions[0]),
        _ => null,
    };
}
