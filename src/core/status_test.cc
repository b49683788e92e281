#include "abierto/status.h"

#include <gtest/gtest.h>

namespace abierto {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("impar", {{"x", "debe ser par"}});
  return x / 2;
}

Status Chain(int x, int* out) {
  ASSIGN_OR_RETURN(*out, Half(x));
  return Status::Ok();
}

TEST(StatusTest, MapsCodesToHttp) {
  EXPECT_EQ(Status::Ok().HttpStatus(), 200);
  EXPECT_EQ(Status::InvalidArgument("x").HttpStatus(), 400);
  EXPECT_EQ(Status::Unauthenticated("x").HttpStatus(), 401);
  EXPECT_EQ(Status::PermissionDenied("x").HttpStatus(), 403);
  EXPECT_EQ(Status::NotFound("x").HttpStatus(), 404);
  EXPECT_EQ(Status::Conflict("x").HttpStatus(), 409);
  EXPECT_EQ(Status::TooLarge("x").HttpStatus(), 413);
  EXPECT_EQ(Status::TooManyRequests("x").HttpStatus(), 429);
  EXPECT_EQ(Status::Internal("x").HttpStatus(), 500);
  EXPECT_STREQ(Status::NotFound("x").CodeName(), "not_found");
}

TEST(StatusTest, ResultCarriesValueOrError) {
  int v = 0;
  EXPECT_TRUE(Chain(4, &v).ok());
  EXPECT_EQ(v, 2);
  Status s = Chain(3, &v);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(s.fields().size(), 1u);
  EXPECT_EQ(s.fields()[0].field, "x");
  Result<int> bad(Status::Ok());
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace abierto
