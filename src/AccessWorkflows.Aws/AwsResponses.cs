using System.Text;
using AccessWorkflows.Aws.Iam;

namespace AccessWorkflows.Aws;

/// <summary>Reading what an AWS endpoint answers, the same way for every protocol (Query, JSON 1.1).</summary>
internal static class AwsResponses
{
    /// <summary>
    /// Reads the body as UTF-8, refusing one over <paramref name="maxBytes"/> with an <see cref="IamException"/>: an
    /// endpoint (or something posing as one) must not make the server buffer without bound.
    /// </summary>
    public static async Task<string> ReadCappedAsync(HttpResponseMessage response, int maxBytes, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new IamException("InvalidResponse", "The answer exceeds the size any answer of this service has.", response.StatusCode);
            }

            buffer.Write(chunk, 0, read);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
