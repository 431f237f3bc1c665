// Colour maps as 256-entry RGB lookup tables (Uint8Array, [256][3]).
// viridis, magma and plasma are the matplotlib maps (perceptually uniform, colour-blind safe),
// evaluated from degree-6 polynomial fits (Matt Zucker's CC0 fits of the matplotlib data);
// the fits stay within about 1/255 of the originals.

const POLYNOMIALS = {
  viridis: [
    [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
    [0.1050930431085774, 1.404613529898575, 1.384590162594685],
    [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
    [-4.634230498983486, -5.799100973351585, -19.33244095627987],
    [6.228269936347081, 14.17993336680509, 56.69055260068105],
    [4.776384997670288, -13.74514537774601, -65.35303263337234],
    [-5.435455855934631, 4.645852612178535, 26.3124352495832],
  ],
  magma: [
    [-0.002136485053939582, -0.000749655052795221, -0.005386127855323933],
    [0.2516605407371642, 0.6775232436837668, 2.494026599312351],
    [8.353717279216625, -3.577719514958484, 0.3144679030132573],
    [-27.66873308576866, 14.26473078096533, -13.64921318813922],
    [52.17613981234068, -27.94360607168351, 12.94416944238394],
    [-50.76852536473588, 29.04658282127291, 4.23415299384598],
    [18.65570506591883, -11.48977351997711, -5.601961508734096],
  ],
  plasma: [
    [0.05873234392399702, 0.02333670892565664, 0.5433401826748754],
    [2.176514634195958, 0.2383834171260182, 0.7539604599784036],
    [-2.689460476458034, -7.455851135738909, 3.110799939717086],
    [6.130348345893603, 42.3461881477227, -28.51885465332158],
    [-11.10743619062271, -82.66631109428045, 60.13984767418263],
    [10.02306557647065, 71.41361770095349, -54.07218655560067],
    [-3.658713842777788, -22.93153465461149, 18.19190778539828],
  ],
};

function fromPolynomial(coefficients) {
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let k = coefficients.length - 1; k >= 0; k--) v = v * t + coefficients[k][c];
      table[i * 3 + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  return table;
}

function fromStops(stops) {
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(t));
    const f = t - k;
    for (let c = 0; c < 3; c++) table[i * 3 + c] = Math.round(stops[k][c] * (1 - f) + stops[k + 1][c] * f);
  }
  return table;
}

/** name -> { label, table }. The first entry is the default. */
export const COLORMAPS = {
  viridis: { label: 'viridis', table: fromPolynomial(POLYNOMIALS.viridis) },
  magma: { label: 'magma', table: fromPolynomial(POLYNOMIALS.magma) },
  plasma: { label: 'plasma', table: fromPolynomial(POLYNOMIALS.plasma) },
  blues: { label: 'blues', table: fromStops([[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]]) },
  greys: { label: 'greys', table: fromStops([[0, 0, 0], [255, 255, 255]]) },
};

export const DEFAULT_COLORMAP = 'viridis';

/** Blue - white - red, for signed values centred on 0 (differences between two heads). */
export const DIVERGING = fromStops([[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]]);

export function colormapTable(name) {
  return (COLORMAPS[name] || COLORMAPS[DEFAULT_COLORMAP]).table;
}
