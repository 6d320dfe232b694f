using System.Buffers;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace AccessWorkflows.Storage.Tables;

/// <summary>
/// The narrow Azure Table Storage REST client the table store needs (Azure.Data.Tables is not available on the build
/// machines; this folder is the one place it would replace). JSON with <c>odata=nometadata</c>, service version
/// 2019-02-02, on an Azure.Core <see cref="HttpPipeline"/>: its retry policy retries 408, 429, 5xx and network
/// failures with exponential backoff; authentication is a per-retry policy (Shared Key or Entra bearer token).
/// Expected outcomes (404, 409, 412) come back as values; anything else throws <see cref="RequestFailedException"/>.
/// </summary>
internal sealed class TableRestClient
{
    public const string ServiceVersion = "2019-02-02";
    private const string JsonNoMetadata = "application/json;odata=nometadata";
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = false };

    private readonly HttpPipeline _pipeline;
    private readonly Uri _endpoint;

    public TableRestClient(HttpPipeline pipeline, Uri endpoint)
    {
        _pipeline = pipeline;
        _endpoint = new Uri(endpoint.AbsoluteUri.TrimEnd('/'));
    }

    /// <summary>Creates the table; an existing one is fine.</summary>
    public async Task CreateTableIfNotExistsAsync(string table, CancellationToken cancellationToken)
    {
        using var message = CreateMessage(RequestMethod.Post, "/Tables");
        message.Request.Headers.SetValue("Prefer", "return-no-content");
        SetJsonContent(message.Request, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("TableName", table);
            writer.WriteEndObject();
        });
        await _pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);
        var response = message.Response;
        if (response.Status is 201 or 204 or 409)
        {
            return; // 409 TableAlreadyExists
        }

        throw Failure(response);
    }

    /// <summary>The entity with its ETag, or null when there is none.</summary>
    public async Task<TableEntity?> GetAsync(string table, string partitionKey, string rowKey, CancellationToken cancellationToken)
    {
        using var message = CreateMessage(RequestMethod.Get, EntityPath(table, partitionKey, rowKey));
        await _pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);
        var response = message.Response;
        if (response.Status == 404)
        {
            return null;
        }

        if (response.Status != 200)
        {
            throw Failure(response);
        }

        using var document = JsonDocument.Parse(response.Content.ToMemory());
        var entity = ReadEntity(document.RootElement);
        entity.ETag = ETagOf(response);
        return entity;
    }

    /// <summary>Insert Entity (POST): <see cref="TableWriteOutcome.Conflict"/> when one with these keys exists.</summary>
    public Task<TableWriteResult> InsertAsync(string table, TableEntity entity, CancellationToken cancellationToken) =>
        WriteAsync(RequestMethod.Post, "/" + table, entity, ifMatch: null, cancellationToken, prefer: "return-no-content");

    /// <summary>Update Entity (PUT, replace) if its ETag is still <paramref name="eTag"/>:
    /// <see cref="TableWriteOutcome.PreconditionFailed"/> when it changed, <see cref="TableWriteOutcome.NotFound"/> when gone.</summary>
    public Task<TableWriteResult> ReplaceAsync(string table, TableEntity entity, string eTag, CancellationToken cancellationToken) =>
        WriteAsync(RequestMethod.Put, EntityPath(table, entity.PartitionKey, entity.RowKey), entity, eTag, cancellationToken);

    /// <summary>Insert Or Replace Entity (PUT without If-Match): last writer wins.</summary>
    public Task<TableWriteResult> UpsertAsync(string table, TableEntity entity, CancellationToken cancellationToken) =>
        WriteAsync(RequestMethod.Put, EntityPath(table, entity.PartitionKey, entity.RowKey), entity, ifMatch: null, cancellationToken);

    /// <summary>Delete Entity if its ETag is still <paramref name="eTag"/> (<c>*</c>: whatever it is).</summary>
    public async Task<TableWriteOutcome> DeleteAsync(string table, string partitionKey, string rowKey, string eTag, CancellationToken cancellationToken)
    {
        using var message = CreateMessage(RequestMethod.Delete, EntityPath(table, partitionKey, rowKey));
        message.Request.Headers.SetValue("If-Match", eTag);
        await _pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);
        return message.Response.Status switch
        {
            204 => TableWriteOutcome.Done,
            404 => TableWriteOutcome.NotFound,
            412 => TableWriteOutcome.PreconditionFailed,
            _ => throw Failure(message.Response),
        };
    }

    /// <summary>Query Entities: one page of at most <paramref name="top"/> entities matching the OData
    /// <paramref name="filter"/>, continuing where the previous page's continuation headers said.</summary>
    public async Task<TableQueryPage> QueryAsync(
        string table,
        string filter,
        int top,
        string? nextPartitionKey,
        string? nextRowKey,
        CancellationToken cancellationToken)
    {
        using var message = CreateMessage(RequestMethod.Get, "/" + table + "()");
        var uri = message.Request.Uri;
        uri.AppendQuery("$filter", filter, escapeValue: true);
        uri.AppendQuery("$top", top.ToString(System.Globalization.CultureInfo.InvariantCulture), escapeValue: false);
        if (nextPartitionKey is not null)
        {
            uri.AppendQuery("NextPartitionKey", nextPartitionKey, escapeValue: true);
        }

        if (nextRowKey is not null)
        {
            uri.AppendQuery("NextRowKey", nextRowKey, escapeValue: true);
        }

        await _pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);
        var response = message.Response;
        if (response.Status != 200)
        {
            throw Failure(response);
        }

        using var document = JsonDocument.Parse(response.Content.ToMemory());
        var entities = new List<TableEntity>();
        foreach (var item in document.RootElement.GetProperty("value").EnumerateArray())
        {
            entities.Add(ReadEntity(item));
        }

        response.Headers.TryGetValue("x-ms-continuation-NextPartitionKey", out var nextPk);
        response.Headers.TryGetValue("x-ms-continuation-NextRowKey", out var nextRk);
        return new TableQueryPage(entities, string.IsNullOrEmpty(nextPk) ? null : nextPk, string.IsNullOrEmpty(nextRk) ? null : nextRk);
    }

    /// <summary>Every entity matching <paramref name="filter"/>, following continuations.</summary>
    public async Task<List<TableEntity>> QueryAllAsync(string table, string filter, CancellationToken cancellationToken)
    {
        var all = new List<TableEntity>();
        string? pk = null, rk = null;
        do
        {
            var page = await QueryAsync(table, filter, 1000, pk, rk, cancellationToken).ConfigureAwait(false);
            all.AddRange(page.Entities);
            (pk, rk) = (page.NextPartitionKey, page.NextRowKey);
        }
        while (pk is not null || rk is not null);

        return all;
    }

    /// <summary>An OData string literal: single-quoted, quotes doubled.</summary>
    public static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private async Task<TableWriteResult> WriteAsync(
        RequestMethod method,
        string path,
        TableEntity entity,
        string? ifMatch,
        CancellationToken cancellationToken,
        string? prefer = null)
    {
        using var message = CreateMessage(method, path);
        if (ifMatch is not null)
        {
            message.Request.Headers.SetValue("If-Match", ifMatch);
        }

        if (prefer is not null)
        {
            message.Request.Headers.SetValue("Prefer", prefer);
        }

        SetJsonContent(message.Request, writer => WriteEntity(writer, entity));
        await _pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);
        var response = message.Response;
        return response.Status switch
        {
            201 or 204 => new TableWriteResult(TableWriteOutcome.Done, ETagOf(response)),
            404 => new TableWriteResult(TableWriteOutcome.NotFound),
            409 => new TableWriteResult(TableWriteOutcome.Conflict),
            412 => new TableWriteResult(TableWriteOutcome.PreconditionFailed),
            _ => throw Failure(response),
        };
    }

    private HttpMessage CreateMessage(RequestMethod method, string escapedPath)
    {
        var message = _pipeline.CreateMessage();
        var request = message.Request;
        request.Method = method;
        request.Uri.Reset(_endpoint);
        request.Uri.AppendPath(escapedPath, escape: false);
        request.Headers.SetValue("x-ms-version", ServiceVersion);
        request.Headers.SetValue("Accept", JsonNoMetadata);
        request.Headers.SetValue("DataServiceVersion", "3.0");
        request.Headers.SetValue("MaxDataServiceVersion", "3.0;NetFx");
        return message;
    }

    /// <summary><c>/{table}(PartitionKey='{pk}',RowKey='{rk}')</c>, each key an OData literal, percent-encoded.</summary>
    private static string EntityPath(string table, string partitionKey, string rowKey) =>
        $"/{table}(PartitionKey={Uri.EscapeDataString(Literal(partitionKey))},RowKey={Uri.EscapeDataString(Literal(rowKey))})";

    private static void SetJsonContent(Request request, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        request.Headers.SetValue(HttpHeader.Names.ContentType, "application/json");
        request.Content = RequestContent.Create(buffer.WrittenMemory);
    }

    private static void WriteEntity(Utf8JsonWriter writer, TableEntity entity)
    {
        writer.WriteStartObject();
        writer.WriteString("PartitionKey", entity.PartitionKey);
        writer.WriteString("RowKey", entity.RowKey);
        foreach (var (name, value) in entity.Properties)
        {
            writer.WriteString(name, value);
        }

        writer.WriteEndObject();
    }

    private static TableEntity ReadEntity(JsonElement element)
    {
        var entity = new TableEntity(element.GetProperty("PartitionKey").GetString()!, element.GetProperty("RowKey").GetString()!);
        foreach (var property in element.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.String && property.Name is not ("PartitionKey" or "RowKey" or "Timestamp"))
            {
                entity.Properties[property.Name] = property.Value.GetString()!;
            }
        }

        return entity;
    }

    /// <summary>The service's answer as an exception: status, reason and <c>x-ms-error-code</c>; never the request
    /// (it may hold request data) and never the authorization header.</summary>
    private static RequestFailedException Failure(Response response)
    {
        response.Headers.TryGetValue("x-ms-error-code", out var errorCode);
        return new RequestFailedException(
            response.Status,
            $"The Table service answered {response.Status} {response.ReasonPhrase} ({errorCode ?? "no error code"}).",
            errorCode,
            innerException: null);
    }

    private static string? ETagOf(Response response) =>
        response.Headers.TryGetValue("ETag", out var eTag) && !string.IsNullOrEmpty(eTag) ? eTag : null;
}
