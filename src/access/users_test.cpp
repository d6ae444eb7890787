#include "access/users.hpp"

#include <gtest/gtest.h>

#include "access/keys.hpp"
#include "storage/sqlite/temp_store_testing.hpp"

namespace treu {
namespace {

class UsersTest : public ::testing::Test {
 protected:
  ManualClock clock_{Timestamp::FromSeconds(1'700'000'000)};
  testing::TempSqliteStore db_{"treu-users-test", clock_};
  Store& store() { return *db_.store; }
  WorkspaceId ws() const { return db_.workspace.id; }

  DashboardUser MakeUser(const std::string& email = "Ana@Shop.Example", const std::string& role = "admin") {
    NewUser u;
    u.email = email;
    u.name = "Ana";
    u.role = role;
    u.password = "correct horse";
    return CreateUser(store(), ws(), u, clock_).value();
  }

  Result<LoginResult> SignIn(const std::string& email, const std::string& password,
                             const std::string& remote = "10.0.0.1", int* retry = nullptr,
                             const std::string& presented = "") {
    LoginRequest r;
    r.email = email;
    r.password = password;
    r.remote = remote;
    r.presented_token = presented;
    int ignored = 0;
    return Login(store(), throttle_, r, clock_, retry != nullptr ? retry : &ignored);
  }

  LoginThrottle throttle_;
};

TEST_F(UsersTest, PasswordsAreHashedWithArgon2id) {
  const std::string hash = HashPassword("correct horse").value();
  EXPECT_TRUE(hash.starts_with("$argon2id$")) << hash;
  EXPECT_NE(hash, HashPassword("correct horse").value());  // salted
  EXPECT_TRUE(VerifyPassword(hash, "correct horse"));
  EXPECT_FALSE(VerifyPassword(hash, "correct horse!"));
  EXPECT_FALSE(VerifyPassword("", "correct horse"));
  EXPECT_FALSE(VerifyPassword("not a hash", "correct horse"));
}

TEST_F(UsersTest, TokensAndPasswordsAreRandomBase64Url) {
  const std::string t = RandomToken();
  EXPECT_EQ(t.size(), 43u);
  EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_NE(t, RandomToken());
  EXPECT_EQ(GeneratePassword().size(), 20u);
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST_F(UsersTest, CreateValidatesAndStoresLowerCaseEmail) {
  const DashboardUser u = MakeUser();
  EXPECT_EQ(u.email, "ana@shop.example");
  EXPECT_EQ(u.role, "admin");
  EXPECT_TRUE(u.password_hash.starts_with("$argon2id$"));
  NewUser bad;
  bad.email = "ana@shop.example";
  bad.password = "correct horse";
  EXPECT_EQ(CreateUser(store(), ws(), bad, clock_).error().code(), ErrorCode::kAlreadyExists);
  bad.email = "no-at-sign";
  EXPECT_EQ(CreateUser(store(), ws(), bad, clock_).error().context(), "email");
  bad.email = "bob@shop.example";
  bad.role = "owner";
  EXPECT_EQ(CreateUser(store(), ws(), bad, clock_).error().context(), "role");
  bad.role = "viewer";
  bad.password = "short";
  EXPECT_EQ(CreateUser(store(), ws(), bad, clock_).error().context(), "password");
  bad.password = "long enough";
  bad.locale = "fr";
  EXPECT_EQ(CreateUser(store(), ws(), bad, clock_).error().context(), "locale");
  EXPECT_EQ(store().ListDashboardUsers(ws()).value().size(), 1u);
}

TEST_F(UsersTest, LoginVerifiesThePasswordAndStoresOnlyTheTokenHash) {
  MakeUser();
  auto wrong = SignIn("ana@shop.example", "wrong password");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), ErrorCode::kUnauthenticated);
  auto unknown = SignIn("nobody@shop.example", "wrong password");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().ToString(), wrong.error().ToString());

  auto ok = SignIn(" ANA@shop.example", "correct horse");
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->workspace.name, "shop");
  EXPECT_EQ(ok->user.last_login_at, clock_.Now());
  const std::string token = ok->session.token;
  EXPECT_FALSE(store().FindDashboardSession(token).value().has_value());
  auto stored = store().FindDashboardSession(Sha256Hex(token)).value();
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->csrf_token, ok->session.session.csrf_token);
  EXPECT_EQ(stored->remote, "10.0.0.1");

  auto who = AuthenticateSession(store(), token, clock_);
  ASSERT_TRUE(who) << who.error().ToString();
  EXPECT_EQ(who->user.email, "ana@shop.example");
  std::string forged = token;
  forged[0] = forged[0] == 'x' ? 'y' : 'x';  // one character changed, whatever it was
  auto refused = AuthenticateSession(store(), forged, clock_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnauthenticated);
  ASSERT_TRUE(EndSession(store(), token));
  EXPECT_EQ(AuthenticateSession(store(), token, clock_).error().code(), ErrorCode::kUnauthenticated);
}

TEST_F(UsersTest, LoginNeverReusesAPresentedSession) {
  MakeUser();
  const std::string first = SignIn("ana@shop.example", "correct horse").value().session.token;
  auto second = SignIn("ana@shop.example", "correct horse", "10.0.0.1", nullptr, first);
  ASSERT_TRUE(second);
  EXPECT_NE(second->session.token, first);
  EXPECT_FALSE(AuthenticateSession(store(), first, clock_));
  EXPECT_TRUE(AuthenticateSession(store(), second->session.token, clock_));
}

TEST_F(UsersTest, SessionsExpireWhenIdleAndAfterAWeek) {
  MakeUser();
  const std::string token = SignIn("ana@shop.example", "correct horse").value().session.token;
  const std::string hash = Sha256Hex(token);
  clock_.Advance(30 * kMicrosPerSecond);
  ASSERT_TRUE(AuthenticateSession(store(), token, clock_));
  // Touched at most once a minute.
  EXPECT_EQ(store().FindDashboardSession(hash).value()->last_seen_at.micros,
            clock_.Now().micros - 30 * kMicrosPerSecond);
  clock_.Advance(31 * kMicrosPerSecond);
  ASSERT_TRUE(AuthenticateSession(store(), token, clock_));
  EXPECT_EQ(store().FindDashboardSession(hash).value()->last_seen_at, clock_.Now());
  // Used every 11 hours it lasts until the absolute end.
  for (int i = 0; i < 15; ++i) {
    clock_.Advance(11 * 3600 * kMicrosPerSecond);
    ASSERT_TRUE(AuthenticateSession(store(), token, clock_)) << i;
  }
  clock_.Advance(11 * 3600 * kMicrosPerSecond);  // 7 days and a bit after sign-in
  EXPECT_EQ(AuthenticateSession(store(), token, clock_).error().code(), ErrorCode::kUnauthenticated);
  EXPECT_FALSE(store().FindDashboardSession(hash).value().has_value());

  const std::string idle = SignIn("ana@shop.example", "correct horse").value().session.token;
  clock_.Advance(12 * 3600 * kMicrosPerSecond);
  EXPECT_EQ(AuthenticateSession(store(), idle, clock_).error().code(), ErrorCode::kUnauthenticated);
}

TEST_F(UsersTest, FailedLoginsAreThrottledPerAccountAndPerAddress) {
  MakeUser();
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(SignIn("ana@shop.example", "wrong password"));
  int retry = 0;
  auto refused = SignIn("ana@shop.example", "correct horse", "10.0.0.1", &retry);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(retry, 900);
  EXPECT_EQ(refused.error().detail(), "too many failed logins; retry in 900 s");
  // The account is throttled from another address too.
  EXPECT_EQ(SignIn("ana@shop.example", "correct horse", "10.0.0.2").error().code(),
            ErrorCode::kResourceExhausted);
  clock_.Advance(10 * 60 * kMicrosPerSecond);
  EXPECT_FALSE(SignIn("ana@shop.example", "correct horse", "10.0.0.1", &retry));
  EXPECT_EQ(retry, 300);
  clock_.Advance(5 * 60 * kMicrosPerSecond);
  ASSERT_TRUE(SignIn("ana@shop.example", "correct horse"));

  // 20 failures from one address over many accounts block that address only.
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(SignIn("u" + std::to_string(i) + "@x.example", "wrong password", "10.9.9.9"));
  EXPECT_EQ(SignIn("ana@shop.example", "correct horse", "10.9.9.9").error().code(),
            ErrorCode::kResourceExhausted);
  EXPECT_TRUE(SignIn("ana@shop.example", "correct horse", "10.0.0.3"));
}

TEST_F(UsersTest, ChangingThePasswordEndsOtherSessionsAndDeleteEndsAll) {
  const DashboardUser u = MakeUser();
  const std::string mine = SignIn("ana@shop.example", "correct horse").value().session.token;
  const std::string other = SignIn("ana@shop.example", "correct horse").value().session.token;
  UserChange change;
  change.password = "battery staple";
  change.locale = "de";
  auto updated = UpdateUser(store(), ws(), u.id, change, Sha256Hex(mine));
  ASSERT_TRUE(updated) << updated.error().ToString();
  EXPECT_EQ(updated->locale, "de");
  EXPECT_TRUE(AuthenticateSession(store(), mine, clock_));
  EXPECT_FALSE(AuthenticateSession(store(), other, clock_));
  EXPECT_FALSE(SignIn("ana@shop.example", "correct horse"));
  EXPECT_TRUE(SignIn("ana@shop.example", "battery staple"));
  change = {};
  change.role = "owner";
  EXPECT_EQ(UpdateUser(store(), ws(), u.id, change).error().context(), "role");
  EXPECT_EQ(UpdateUser(store(), ws(), u.id + 100, {}).error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(store().DeleteDashboardUser(ws(), u.id));
  EXPECT_FALSE(AuthenticateSession(store(), mine, clock_));
}

}  // namespace
}  // namespace treu
