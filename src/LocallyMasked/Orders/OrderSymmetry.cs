namespace LocallyMasked.Orders;

/// <summary>
/// The eight symmetries of the pixel grid, applied to an order's pixel coordinates. The numeric
/// values are the variant indices used by the authors' published models and test flags.
/// </summary>
public enum OrderSymmetry
{
    /// <summary>The order unchanged.</summary>
    Identity = 0,

    /// <summary>Rows reflected: (r, c) becomes (H-1-r, c).</summary>
    ReflectRows = 1,

    /// <summary>Columns reflected: (r, c) becomes (r, W-1-c).</summary>
    ReflectColumns = 2,

    /// <summary>Rows and columns reflected (a half turn).</summary>
    ReflectBoth = 3,

    /// <summary>Transposed: (r, c) becomes (c, r); the grid becomes W x H.</summary>
    Transpose = 4,

    /// <summary>Transposed, then rows reflected.</summary>
    TransposeReflectRows = 5,

    /// <summary>Transposed, then columns reflected.</summary>
    TransposeReflectColumns = 6,

    /// <summary>Transposed, then rows and columns reflected.</summary>
    TransposeReflectBoth = 7,
}
