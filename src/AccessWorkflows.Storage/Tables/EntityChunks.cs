namespace AccessWorkflows.Storage.Tables;

/// <summary>
/// Large strings across several properties. A table string property holds at most 64 KiB (32 Ki UTF-16 characters)
/// and an entity at most 1 MiB in 252 properties, so a value is written as <c>{name}0</c>, <c>{name}1</c>, … with
/// <c>{name}N</c> holding the chunk count. Chunks never split a surrogate pair: each chunk must be valid UTF-16 on its
/// own to be serialized.
/// </summary>
internal static class EntityChunks
{
    /// <summary>Characters per chunk: the 32 Ki-character limit, minus headroom.</summary>
    public const int ChunkLength = 32_000;

    /// <summary>At most this many chunks (about 900 KiB as UTF-16), leaving room in the 1 MiB entity for the rest.</summary>
    public const int MaxChunks = 14;

    public static void Write(TableEntity entity, string name, string? value)
    {
        // Clear what an earlier, longer value left (entities are replaced whole, but a caller may reuse an entity).
        if (int.TryParse(entity[name + "N"], out var previous))
        {
            for (var i = 0; i < previous; i++)
            {
                entity[name + i] = null;
            }
        }

        if (value is null)
        {
            entity[name + "N"] = null;
            return;
        }

        var count = 0;
        for (var start = 0; start < value.Length || count == 0; count++)
        {
            if (count == MaxChunks)
            {
                throw new ArgumentException($"{name} is longer than a table entity can hold ({MaxChunks * ChunkLength} characters).", nameof(value));
            }

            var length = Math.Min(ChunkLength, value.Length - start);
            if (length > 0 && start + length < value.Length && char.IsHighSurrogate(value[start + length - 1]))
            {
                length--; // keep the pair together in the next chunk
            }

            entity[name + count] = value.Substring(start, length);
            start += length;
        }

        entity[name + "N"] = count.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public static string? Read(TableEntity entity, string name)
    {
        if (entity[name + "N"] is not { } countText)
        {
            return null;
        }

        if (!int.TryParse(countText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count) || count is < 1 or > MaxChunks)
        {
            throw new InvalidDataException($"Table entity {entity.PartitionKey}/{entity.RowKey} has a bad chunk count for {name}.");
        }

        if (count == 1)
        {
            return entity.Required(name + "0");
        }

        return string.Concat(Enumerable.Range(0, count).Select(i => entity.Required(name + i)));
    }
}
