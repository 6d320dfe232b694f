using System.Globalization;

namespace AccessWorkflows.Storage;

/// <summary>
/// The continuation token of an audit export: the position (instant, then the store's own tie-break key) of the last
/// event served, bound to the query's bounds (a <see cref="PositionToken"/> of format 2, so a request listing's token
/// is refused here). The page size is not bound: a client may change it between pages.
/// </summary>
internal static class AuditContinuationToken
{
    private const byte Format = 2;

    public static string Encode(long atUtcTicks, string tieBreak, AuditQuery query) =>
        PositionToken.Encode(Format, atUtcTicks, tieBreak, Binding(query));

    /// <exception cref="ArgumentException">The token is not one a query with these bounds produced.</exception>
    public static (long AtUtcTicks, string TieBreak) Decode(AuditQuery query)
    {
        var token = query.ContinuationToken ?? throw new ArgumentNullException(nameof(query));
        var (ticks, tieBreak) = PositionToken.Decode(Format, token, Binding(query), nameof(AuditQuery.ContinuationToken));

        // A position outside the bounds is one this query never served: refused rather than clamped.
        return ticks >= query.Since.UtcTicks && ticks < query.Until.UtcTicks
            ? (ticks, tieBreak)
            : throw PositionToken.Invalid(nameof(AuditQuery.ContinuationToken));
    }

    private static string Binding(AuditQuery query) =>
        string.Create(CultureInfo.InvariantCulture, $"audit\n{query.Since.UtcTicks}\n{query.Until.UtcTicks}");
}
