using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace AccessWorkflows.Storage.Tables;

/// <summary>The two account-key schemes the Table service accepts.</summary>
public enum TableSharedKeyScheme
{
    /// <summary><c>SharedKey</c>: signs <c>VERB\nContent-MD5\nContent-Type\nDate\nCanonicalizedResource</c>.</summary>
    SharedKey,

    /// <summary><c>SharedKeyLite</c>: signs <c>Date\nCanonicalizedResource</c>.</summary>
    SharedKeyLite,
}

/// <summary>
/// Signs each attempt of a Table service request with the account key ("Authorize with Shared Key", Table service
/// variants): sets <c>x-ms-date</c>, builds the string to sign, HMAC-SHA256s it with the decoded account key and sends
/// <c>Authorization: SharedKey|SharedKeyLite {account}:{base64 signature}</c>. The canonicalized resource is
/// <c>/{account}{escaped path as sent}</c>, plus <c>?comp={value}</c> when the query has <c>comp</c> (it never does
/// here). Runs per retry, so a retried request gets a fresh date and signature.
/// </summary>
internal sealed class TableSharedKeyPolicy : HttpPipelineSynchronousPolicy
{
    private readonly string _accountName;
    private readonly byte[] _accountKey;
    private readonly TableSharedKeyScheme _scheme;
    private readonly TimeProvider _time;

    public TableSharedKeyPolicy(string accountName, byte[] accountKey, TableSharedKeyScheme scheme, TimeProvider? time = null)
    {
        _accountName = accountName;
        _accountKey = accountKey;
        _scheme = scheme;
        _time = time ?? TimeProvider.System;
    }

    public override void OnSendingRequest(HttpMessage message)
    {
        var request = message.Request;
        var date = _time.GetUtcNow().ToString("r", CultureInfo.InvariantCulture);
        request.Headers.SetValue("x-ms-date", date);
        var stringToSign = StringToSign(request, date);
        var signature = Convert.ToBase64String(HMACSHA256.HashData(_accountKey, Encoding.UTF8.GetBytes(stringToSign)));
        var scheme = _scheme == TableSharedKeyScheme.SharedKey ? "SharedKey" : "SharedKeyLite";
        request.Headers.SetValue(HttpHeader.Names.Authorization, $"{scheme} {_accountName}:{signature}");
    }

    /// <summary>The string to sign for <paramref name="request"/> (internal for the signature tests).</summary>
    internal string StringToSign(Request request, string date)
    {
        var resource = CanonicalizedResource(request.Uri.ToUri());
        if (_scheme == TableSharedKeyScheme.SharedKeyLite)
        {
            return date + "\n" + resource;
        }

        request.Headers.TryGetValue("Content-MD5", out var md5);
        request.Headers.TryGetValue(HttpHeader.Names.ContentType, out var contentType);
        return string.Join('\n', request.Method.Method.ToUpperInvariant(), md5 ?? "", contentType ?? "", date, resource);
    }

    private string CanonicalizedResource(Uri uri)
    {
        var resource = "/" + _accountName + uri.AbsolutePath;
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            if (string.Equals(name, "comp", StringComparison.OrdinalIgnoreCase))
            {
                return resource + "?comp=" + Uri.UnescapeDataString(equals < 0 ? "" : pair[(equals + 1)..]);
            }
        }

        return resource;
    }
}
