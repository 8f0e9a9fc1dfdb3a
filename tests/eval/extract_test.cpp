// One test per extraction rule (extract.hpp), including nested braces and several boxes.
#include "eval/extract.hpp"

#include <gtest/gtest.h>

using namespace tsft::eval;

namespace {
void expect_extract(const std::string& text, const std::string& answer, ExtractRule rule) {
  Extraction e = extract_answer(text);
  EXPECT_EQ(e.answer, answer) << text;
  EXPECT_STREQ(extract_rule_name(e.rule), extract_rule_name(rule)) << text;
}
}  // namespace

TEST(Extract, BoxedNestedBraces) {
  expect_extract("so $x = \\boxed{\\frac{\\sqrt{3}}{2}}$.", "\\frac{\\sqrt{3}}{2}", ExtractRule::Boxed);
  expect_extract("\\boxed{\\left\\{ 1, \\frac{2}{3} \\right\\}}", "\\left\\{ 1, \\frac{2}{3} \\right\\}",
                 ExtractRule::Boxed);
  expect_extract("\\boxed{a{b{c}}d} tail", "a{b{c}}d", ExtractRule::Boxed);
}

TEST(Extract, LastBoxWinsWhenSeparatedByText) {
  expect_extract("First I got $\\boxed{3}$, but correcting, the answer is $\\boxed{4}$.", "4",
                 ExtractRule::Boxed);
  expect_extract("\\boxed{1} no no no no no \\boxed{2}", "2", ExtractRule::Boxed);
}

TEST(Extract, SeveralBoxesJoinedIntoASet) {
  expect_extract("\\boxed{1} and \\boxed{2} and \\boxed{3}", "1, 2, 3", ExtractRule::BoxedMulti);
  expect_extract("\\boxed{1},\\boxed{2}", "1, 2", ExtractRule::BoxedMulti);
  expect_extract("$\\boxed{(2, 2)} \\quad \\text{and} \\quad \\boxed{(6, 2)}$", "(2, 2), (6, 2)",
                 ExtractRule::BoxedMulti);
  expect_extract("\\boxed{1}\\boxed{2}", "1, 2", ExtractRule::BoxedMulti);
}

TEST(Extract, FboxAndBareBoxed) {
  expect_extract("The answer is $\\fbox{4}$.", "4", ExtractRule::Boxed);
  expect_extract("The answer is $\\boxed 4$.", "4", ExtractRule::Boxed);
  // an unbalanced box is not an answer; the number after it is
  expect_extract("\\boxed{3 and then we get 7", "7", ExtractRule::LastNumber);
}

TEST(Extract, MinervaFinalAnswer) {
  expect_extract("Work... Final Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.",
                 "\\frac{1}{2}", ExtractRule::FinalAnswer);
  expect_extract("... The final answer is 16386.16.", "16386.16", ExtractRule::FinalAnswer);
  // it outranks intermediate boxes
  expect_extract(
      "$x=\\boxed{200}$ then ... Final Answer: The final answer is $10,455$. I hope it is correct.", "10,455",
      ExtractRule::FinalAnswer);
  expect_extract("Final Answer: The largest $n$ is 34.", "34", ExtractRule::FinalAnswer);
}

TEST(Extract, Gsm8kHashes) {
  expect_extract("She sold 48+24=72 in total.\n#### 72", "72", ExtractRule::Gsm8k);
  expect_extract("1,000 + 80 = 1,080\n#### 1,080", "1,080", ExtractRule::Gsm8k);
  expect_extract("First guess\n#### 5\nCorrection\n#### 72", "72", ExtractRule::Gsm8k);
}

TEST(Extract, TheAnswerIs) {
  expect_extract("Let's compute. The answer is $1,080.", "1,080", ExtractRule::AnswerIs);
  expect_extract("so the answer is 72 apples, I think", "72", ExtractRule::AnswerIs);
  expect_extract("Work here\nA: 5600", "5600", ExtractRule::AnswerIs);
  expect_extract("Answer: $\\frac{3}{4}$", "\\frac{3}{4}", ExtractRule::AnswerIs);
}

TEST(Extract, CannotBeDetermined) {
  for (const char* t :
       {"The height cannot be determined from the given data.", "There is not enough information to find x.",
        "Insufficient information.", "It is impossible to determine the angle."}) {
    expect_extract(t, kCannotDetermine, ExtractRule::CannotDetermine);
    EXPECT_TRUE(extract_is_cannot_determine(t)) << t;
  }
  EXPECT_FALSE(extract_is_cannot_determine("The answer is 5."));
  // an explicit box wins over the phrase
  expect_extract("Not enough information? No: $\\boxed{5}$", "5", ExtractRule::Boxed);
}

TEST(Extract, RightmostInlineMath) {
  expect_extract("Answer \\[ 9 \\]", "9", ExtractRule::InlineMath);
  expect_extract("Answer \\( (9+1) \\)", "(9+1)", ExtractRule::InlineMath);
  expect_extract("Answer $$ \n 9 \n $$", "9", ExtractRule::InlineMath);
  expect_extract("We get $x=2$ and then $y = 3$.", "x=2, y = 3", ExtractRule::InlineMath);
  expect_extract("Since $a$ is odd we have $b=4$ so", "b=4", ExtractRule::InlineMath);
  // a $ that never closes is a currency sign, not math
  expect_extract("She earns $2 each, making 18 dollars a day.", "18", ExtractRule::LastNumber);
}

TEST(Extract, WholeBareAnswer) {
  expect_extract("\\frac{1}{2}", "\\frac{1}{2}", ExtractRule::Whole);
  expect_extract("10 cm", "10 cm", ExtractRule::Whole);
  expect_extract(".4", ".4", ExtractRule::Whole);
  expect_extract("1 and 2", "1 and 2", ExtractRule::Whole);
  expect_extract("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}",
                 ExtractRule::Whole);
}

TEST(Extract, LastNumberFallback) {
  expect_extract("the number is not 10 which is 1,000.99 euros", "1,000.99", ExtractRule::LastNumber);
  expect_extract("Therefore the probability that Alice wins is 2/3. <|im_start|>user", "2/3",
                 ExtractRule::LastNumber);
  expect_extract("the temperature fell to -3 degrees overnight", "-3", ExtractRule::LastNumber);
  expect_extract("no digits at all here, sorry", "", ExtractRule::None);
}

TEST(Extract, MultipleChoiceLetters) {
  EXPECT_EQ(extract_choice("Let's compute... so the answer is (C)."), 'C');
  EXPECT_EQ(extract_choice("The answer is C, not A."), 'C');
  EXPECT_EQ(extract_choice("A. Because B is not valid"), 'A');
  EXPECT_EQ(extract_choice("Because B is valid"), 'B');
  EXPECT_EQ(extract_choice("$\\boxed{\\text{(D)}}$"), 'D');
  EXPECT_EQ(extract_choice("(c)"), 'C');
  EXPECT_EQ(extract_choice("A farmer has sheep; the correct option is E"), 'E');
  EXPECT_EQ(extract_choice("No valid answer here"), 0);
  EXPECT_EQ(extract_gold_choice("\\text{(C)}"), 'C');
  EXPECT_EQ(extract_gold_choice("B"), 'B');
  EXPECT_EQ(extract_gold_choice("d"), 0);
  EXPECT_EQ(extract_gold_choice("12"), 0);
}
