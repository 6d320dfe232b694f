using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AccessWorkflows.Testing;

/// <summary>
/// Azurite's Table service, installed by <c>npm ci</c> at the repository root (package.json; scripts/test.sh runs it),
/// started once per test process on a free loopback port with in-memory persistence, and killed when the process
/// exits. Tests isolate themselves with their own table prefix. When Azurite is not installed every test that needs
/// it fails with a message saying how to install it: such a test is never skipped.
/// </summary>
public sealed class Azurite : IAsyncDisposable
{
    /// <summary>The development account every Azurite serves (a published, well-known key, not a secret).</summary>
    public const string AccountName = "devstoreaccount1";

    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly Lazy<Task<Azurite>> SharedInstance = new(() => StartAsync(), LazyThreadSafetyMode.ExecutionAndPublication);
    private static int s_prefixCounter;

    private readonly Process _process;
    private readonly string _workingDirectory;
    private readonly StringBuilder _output;

    private Azurite(Process process, int port, string workingDirectory, StringBuilder output)
    {
        _process = process;
        _workingDirectory = workingDirectory;
        _output = output;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The Table endpoint, path-style with the account name, as Azurite serves it.</summary>
    public Uri TableEndpoint => new($"http://127.0.0.1:{Port}/{AccountName}");

    /// <summary>A connection string for the development account.</summary>
    public string ConnectionString => ConnectionStringWithKey(AccountKey);

    /// <summary>The process-wide instance, started on first use.</summary>
    public static Task<Azurite> SharedAsync() => SharedInstance.Value;

    /// <summary>A connection string to this Azurite signed with <paramref name="accountKey"/> (for tests of a wrong key).</summary>
    public string ConnectionStringWithKey(string accountKey) =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={accountKey};TableEndpoint={TableEndpoint};";

    /// <summary>A table-name prefix no other test of this process uses (letters and digits, as table names need).</summary>
    public static string NewTablePrefix() =>
        $"t{Environment.ProcessId % 100000}x{Interlocked.Increment(ref s_prefixCounter)}x{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>Starts a new Azurite Table service (prefer <see cref="SharedAsync"/>: one per process is enough).</summary>
    /// <exception cref="InvalidOperationException">Azurite is not installed, or did not start.</exception>
    public static async Task<Azurite> StartAsync()
    {
        var root = RepositoryRoot();
        var launcher = Path.Combine(root, "node_modules", ".bin", OperatingSystem.IsWindows() ? "azurite-table.cmd" : "azurite-table");
        if (!File.Exists(launcher))
        {
            throw new InvalidOperationException(
                $"Azurite is not installed ({launcher} is missing). Run `npm ci` at the repository root ({root}); `bash scripts/test.sh` does it for you.");
        }

        var port = FreePort();
        var workingDirectory = Directory.CreateTempSubdirectory("aw-azurite-").FullName;
        var start = new ProcessStartInfo(launcher)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--tableHost", "127.0.0.1", "--tablePort", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--disableProductStyleUrl",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var output = new StringBuilder();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {launcher}.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var azurite = new Azurite(process, port, workingDirectory, output);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => azurite.Kill();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await azurite.AnswersAsync())
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                azurite.Kill();
                throw new InvalidOperationException($"Azurite did not start on port {port}. Its output:\n{azurite.Output}");
            }

            // A poll on a condition (the port answers), not a sleep that hopes: it returns as soon as Azurite is up.
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }

        return azurite;
    }

    /// <summary>What Azurite wrote so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        return ValueTask.CompletedTask;
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }

        try
        {
            Directory.Delete(_workingDirectory, recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp directory is harmless
        }
    }

    private async Task<bool> AnswersAsync()
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            if (output.Length < 64 * 1024)
            {
                output.AppendLine(line);
            }
        }
    }

    /// <summary>Azurite needs an explicit port: take a free one from the OS and release it for Azurite.</summary>
    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>The folder holding AccessWorkflows.sln, found by walking up from the test's base directory.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AccessWorkflows.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No AccessWorkflows.sln above {AppContext.BaseDirectory}.");
    }
}
