#include "surveys/kpi_feedback.hpp"

#include <nlohmann/json.hpp>
#include <unordered_map>

namespace treu::survey {

Result<std::shared_ptr<const SurveyFeedback>> SurveyFeedback::Load(Store& store, WorkspaceId ws,
                                                                   const Snapshot& snapshot, const SurveyReader& read,
                                                                   bool latest_only) {
  auto out = std::make_shared<SurveyFeedback>();
  out->latest_only_ = latest_only;
  std::unordered_map<std::int64_t, std::int64_t> index_of;
  for (Snapshot::Index c = 0; c < snapshot.customers(); ++c) index_of[snapshot.customer_id(c).value] = c;
  TREU_ASSIGN_OR_RETURN(const std::vector<SurveyRecord> records, store.ListSurveys(ws));
  for (const SurveyRecord& record : records) {
    TREU_ASSIGN_OR_RETURN(const Survey s, read(record));
    const std::vector<const Question*> questions = AllQuestions(s);
    std::int64_t after = 0;
    while (true) {
      TREU_ASSIGN_OR_RETURN(const std::vector<SurveyResponse> page, store.ListSurveyResponses(ws, s.id, after, 1000));
      if (page.empty()) break;
      after = page.back().id;
      for (const SurveyResponse& r : page) {
        const nlohmann::json j = nlohmann::json::parse(r.answers, nullptr, false);
        if (!j.is_object()) continue;
        for (const Question* q : questions) {
          auto it = j.find(q->id);
          if (!IsScoreKind(q->kind) || it == j.end() || !it->is_number_integer()) continue;
          out->answers_.push_back({r.customer, r.updated_at, q->kind, it->get<int>(), s.nps});
          auto idx = index_of.find(r.customer.value);
          out->index_.push_back(idx == index_of.end() ? -1 : idx->second);
        }
      }
    }
  }
  return std::shared_ptr<const SurveyFeedback>(std::move(out));
}

FeedbackSums SurveyFeedback::Sum(Timestamp start, Timestamp end, const std::vector<bool>* customers) const {
  std::vector<Answer> chosen;
  for (std::size_t i = 0; i < answers_.size(); ++i) {
    if (customers != nullptr) {
      const std::int64_t c = index_[i];
      if (c < 0 || static_cast<std::size_t>(c) >= customers->size() || !(*customers)[static_cast<std::size_t>(c)]) {
        continue;
      }
    }
    chosen.push_back(answers_[i]);
  }
  const FeedbackResult f = ComputeFeedback(chosen, start, end, latest_only_);
  FeedbackSums out;
  out.nps_answers = f.nps_answers;
  out.promoters = f.promoters;
  out.detractors = f.detractors;
  out.csat_answers = f.csat_answers;
  out.csat_good = f.csat_good;
  out.csat_bad = f.csat_bad;
  out.ces_answers = f.ces_answers;
  out.ces_total = f.ces ? *f.ces * static_cast<double>(f.ces_answers) : 0;
  return out;
}

}  // namespace treu::survey
