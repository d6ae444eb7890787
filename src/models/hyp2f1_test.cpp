#include "models/hyp2f1.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

// Boost's pFq needs gamma.hpp and expm1.hpp included before it.
#include <boost/math/special_functions/expm1.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <boost/math/special_functions/hypergeometric_pFq.hpp>

namespace treu {
namespace {

// Boost's general pFq: accurate to ~1e-15 for z up to 0.999 with moderate parameters, but slow
// there (and it silently truncates its series beyond ~0.9999), so it serves as the reference on
// that range only.
double Boost2F1(double a, double b, double c, double z) {
  return boost::math::hypergeometric_pFq({a, b}, {c}, z);
}

double RelErr(double got, double want) { return std::abs(got - want) / std::abs(want); }

TEST(Hyp2F1Test, MatchesBoostOnTheBgNbdAndMbgNbdPredictionGrid) {
  // CDNOW BG/NBD estimates; the predictions need 2F1(r+x, b+x; a+b+x-1; z) (BG/NBD) and
  // 2F1(r+x, b+x+1; a+b+x; z) (MBG/NBD), where c - a - b = a - 1 - r - x < 0.
  const double r = 0.2425982, a = 0.7929899, b = 2.4261667;
  const double xs[] = {0, 1, 2, 3, 5, 8, 13, 20, 30, 50};
  const double zs[] = {0.0, 0.01, 0.05, 0.1, 0.2,  0.3,  0.4,  0.5, 0.6,
                       0.7, 0.8,  0.85, 0.9, 0.92, 0.95, 0.97, 0.99};
  for (double x : xs) {
    for (double z : zs) {
      EXPECT_LT(
          RelErr(Hyp2F1(r + x, b + x, a + b + x - 1, z), Boost2F1(r + x, b + x, a + b + x - 1, z)),
          1e-12)
          << "BG/NBD x = " << x << ", z = " << z;
      EXPECT_LT(
          RelErr(Hyp2F1(r + x, b + x + 1, a + b + x, z), Boost2F1(r + x, b + x + 1, a + b + x, z)),
          1e-12)
          << "MBG/NBD x = " << x << ", z = " << z;
    }
  }
}

TEST(Hyp2F1Test, MatchesBoostOnGenericParameters) {
  const double params[][3] = {
      {1.5, 2.5, 5.0},         // c - a - b = 1
      {2.5, 3.5, 1.0},         // c - a - b = -5, an integer
      {0.1, 0.2, 0.3},         // c - a - b = 0 up to rounding
      {5.0, 5.0, 10.0},        // c - a - b = 0
      {0.5, 7.0, 2.25},        // c - a - b = -5.25
      {3.0, 0.25, 9.5},        // c - a - b = 6.25
      {12.0, 0.7, 1.3},        // large a, small c
      {1.0, 2.0, 3.0 + 1e-9},  // c - a - b within 1e-9 of an integer
      {4.159, 1.606, 5.159},   // Pareto/NBD-like 2F1(r+s+x, s+1; r+s+x+1; z): c - a - b = -s
  };
  const double zs[] = {0.001, 0.25, 0.5, 0.75, 0.9, 0.91, 0.95, 0.99, 0.995, 0.999};
  for (const auto& p : params) {
    for (double z : zs) {
      EXPECT_LT(RelErr(Hyp2F1(p[0], p[1], p[2], z), Boost2F1(p[0], p[1], p[2], z)), 1e-12)
          << p[0] << ", " << p[1] << ", " << p[2] << ", z = " << z;
    }
  }
}

TEST(Hyp2F1Test, MatchesClosedFormsUpToZCloseToOne) {
  // Elementary cases, where no reference series is needed, including z much closer to 1 than
  // the models need.
  const double zs[] = {0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999};
  for (double z : zs) {
    // 2F1(1, 1; 2; z) = -ln(1 - z)/z (c - a - b = 0: always the direct series).
    EXPECT_LT(RelErr(Hyp2F1(1, 1, 2, z), -std::log1p(-z) / z), 1e-14) << z;
    // 2F1(a, b; b; z) = (1 - z)^-a.
    EXPECT_LT(RelErr(Hyp2F1(2.7, 1.3, 1.3, z), std::pow(1 - z, -2.7)), 1e-13) << z;
    EXPECT_LT(RelErr(Hyp2F1(0.3, 4.0, 4.0, z), std::pow(1 - z, -0.3)), 1e-14) << z;
    // 2F1(1/2, 1/2; 3/2; z) = asin(sqrt z)/sqrt z (c - a - b = 1/2).
    EXPECT_LT(RelErr(Hyp2F1(0.5, 0.5, 1.5, z), std::asin(std::sqrt(z)) / std::sqrt(z)), 1e-14) << z;
    // 2F1(a, 1 - a; 3/2; sin^2 y) = sin((2a - 1) y) / ((2a - 1) sin y).
    const double y = std::asin(std::sqrt(z)), a = 0.3;
    EXPECT_LT(
        RelErr(Hyp2F1(a, 1 - a, 1.5, z), std::sin((2 * a - 1) * y) / ((2 * a - 1) * std::sin(y))),
        1e-13)
        << z;
  }
}

TEST(Hyp2F1Test, IsOneAtZeroAndNaNOutsideItsDomain) {
  EXPECT_EQ(Hyp2F1(0.3, 2.0, 1.5, 0.0), 1.0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(std::isnan(Hyp2F1(0.0, 1, 1, 0.5)));
  EXPECT_TRUE(std::isnan(Hyp2F1(1, -1, 1, 0.5)));
  EXPECT_TRUE(std::isnan(Hyp2F1(1, 1, 0, 0.5)));
  EXPECT_TRUE(std::isnan(Hyp2F1(1, 1, 1, 1.0)));
  EXPECT_TRUE(std::isnan(Hyp2F1(1, 1, 1, -0.1)));
  EXPECT_TRUE(std::isnan(Hyp2F1(nan, 1, 1, 0.5)));
  EXPECT_TRUE(std::isnan(Hyp2F1(1, 1, 1, nan)));
  EXPECT_TRUE(std::isnan(Hyp2F1(1, std::numeric_limits<double>::infinity(), 1, 0.5)));
}

TEST(Hyp2F1Test, OverflowsToInfinity) {
  // About (1 - z)^(c - a - b) = 100^400, by the transformation and by the series.
  EXPECT_EQ(Hyp2F1(400.5, 400.25, 401, 0.99), std::numeric_limits<double>::infinity());
  EXPECT_EQ(Hyp2F1(400.5, 400.5, 401, 0.99), std::numeric_limits<double>::infinity());
}

}  // namespace
}  // namespace treu
